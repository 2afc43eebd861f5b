// Binary morphology with ball and box structuring elements, and 3D hole filling.
//
// An element symmetric in x is a list of rows (dz, dy, w): at offset (dz, dy) it covers
// x - w .. x + w. Dilation ORs, for every row of the element, the input row (z+dz, y+dy)
// already dilated along x by w. The x-dilations X_w of each input plane are built once per
// plane (X_w = X_{w-1} shifted left | itself | shifted right) and cached in a ring of planes.
// Erosion is the complement of the dilation of the complement. Outside the array the input
// counts as 0, exactly like scipy.ndimage's default border_value=0: a dilation never grows in
// from the border, and an erosion removes voxels whose element reaches past the border.
#include "runs.hpp"

#include <cmath>

namespace ndelab {

namespace {

struct ElemRow {
  int dz, dy, w;
};

std::vector<ElemRow> element_rows(const std::string& shape, const std::vector<int>& radius,
                                  int ndim) {
  std::vector<ElemRow> rows;
  if (shape == "ball") {
    if (radius.size() != 1) throw py::value_error("a ball element takes one radius");
    const int r = radius[0];
    const int rz = ndim >= 3 ? r : 0, ry = ndim >= 2 ? r : 0;
    for (int dz = -rz; dz <= rz; ++dz) {
      for (int dy = -ry; dy <= ry; ++dy) {
        const int rem = r * r - dz * dz - dy * dy;
        if (rem < 0) continue;
        int w = static_cast<int>(std::sqrt(static_cast<double>(rem)));
        while (w * w > rem) --w;
        while ((w + 1) * (w + 1) <= rem) ++w;
        rows.push_back({dz, dy, w});
      }
    }
  } else if (shape == "box") {
    if (static_cast<int>(radius.size()) != ndim) {
      throw py::value_error("a box element takes one half-width per axis");
    }
    std::array<int, 3> r{0, 0, 0};
    for (int i = 0; i < ndim; ++i) r[3 - ndim + i] = radius[i];
    for (int dz = -r[0]; dz <= r[0]; ++dz)
      for (int dy = -r[1]; dy <= r[1]; ++dy) rows.push_back({dz, dy, r[2]});
  } else {
    throw py::value_error("element shape must be 'ball' or 'box', got '" + shape + "'");
  }
  return rows;
}

// The x-dilations X_0..X_R of one input plane, rows padded by R border bytes on each side.
struct PlaneCache {
  idx tag = -1;
  std::vector<std::vector<std::uint8_t>> xw;
};

void build_plane(const View3<std::uint8_t>& m, idx z, int R, bool invert, std::uint8_t border,
                 PlaneCache& pc, std::vector<std::uint8_t>& rbuf) {
  const idx ny = m.shape[1], nx = m.shape[2], W = nx + 2 * R;
  std::vector<std::uint8_t>& x0 = pc.xw[0];
  for (idx y = 0; y < ny; ++y) {
    std::uint8_t* d = x0.data() + y * W;
    const std::uint8_t* s = m.contiguous_row(z, y, rbuf.data());
    std::fill(d, d + R, border);
    std::fill(d + R + nx, d + W, border);
    const std::uint8_t inv = invert ? 1 : 0;
    for (idx x = 0; x < nx; ++x) d[R + x] = static_cast<std::uint8_t>((s[x] != 0) ^ inv);
  }
  for (int w = 1; w <= R; ++w) {
    const std::uint8_t* a = pc.xw[w - 1].data();
    std::uint8_t* b = pc.xw[w].data();
    for (idx y = 0; y < ny; ++y) {
      const std::uint8_t* s = a + y * W;
      std::uint8_t* d = b + y * W;
      d[0] = border;
      d[W - 1] = border;
      for (idx x = 1; x < W - 1; ++x) d[x] = s[x - 1] | s[x] | s[x + 1];
    }
  }
  pc.tag = z;
}

void morph_kernel(const View3<std::uint8_t>& m, const std::vector<ElemRow>& elems, bool erode,
                  std::uint8_t* out) {
  const idx nz = m.shape[0], ny = m.shape[1], nx = m.shape[2];
  int R = 0, RZ = 0;
  for (const ElemRow& e : elems) {
    R = std::max(R, e.w);
    RZ = std::max(RZ, std::abs(e.dz));
  }
  const idx W = nx + 2 * R;
  // Erosion works on the complement, where the outside counts as 1.
  const std::uint8_t border = erode ? 1 : 0;
  const int nslots = 2 * RZ + 1;
  const idx ntasks = std::min<idx>(nz, max_threads());
#pragma omp parallel for schedule(static, 1) if (nz * ny * nx >= kParallelMin)
  for (idx task = 0; task < ntasks; ++task) {
    const idx z0 = nz * task / ntasks, z1 = nz * (task + 1) / ntasks;
    std::vector<PlaneCache> slots(static_cast<std::size_t>(nslots));
    for (PlaneCache& pc : slots) {
      pc.xw.assign(static_cast<std::size_t>(R) + 1,
                   std::vector<std::uint8_t>(static_cast<std::size_t>(ny * W)));
    }
    std::vector<std::uint8_t> rbuf(static_cast<std::size_t>(nx));
    std::vector<std::uint8_t> acc(static_cast<std::size_t>(nx));
    for (idx z = z0; z < z1; ++z) {
      for (int dz = -RZ; dz <= RZ; ++dz) {
        const idx zi = z + dz;
        if (zi < 0 || zi >= nz) continue;
        PlaneCache& pc = slots[static_cast<std::size_t>(zi % nslots)];
        if (pc.tag != zi) build_plane(m, zi, R, erode, border, pc, rbuf);
      }
      for (idx y = 0; y < ny; ++y) {
        std::fill(acc.begin(), acc.end(), 0);
        bool forced = false;
        for (const ElemRow& e : elems) {
          const idx zi = z + e.dz, yi = y + e.dy;
          if (zi < 0 || zi >= nz || yi < 0 || yi >= ny) {
            if (border) {
              forced = true;
              break;
            }
            continue;
          }
          const std::uint8_t* s =
              slots[static_cast<std::size_t>(zi % nslots)].xw[e.w].data() + yi * W + R;
          std::uint8_t* a = acc.data();
          for (idx x = 0; x < nx; ++x) a[x] |= s[x];
        }
        std::uint8_t* o = out + (z * ny + y) * nx;
        if (forced) {
          std::fill(o, o + nx, erode ? 0 : 1);
        } else if (erode) {
          for (idx x = 0; x < nx; ++x) o[x] = acc[x] ^ 1;
        } else {
          std::copy(acc.begin(), acc.end(), o);
        }
      }
    }
  }
}

}  // namespace

py::array morph(const py::array& mask, const std::string& op, const std::string& shape,
                const std::vector<int>& radius) {
  const std::string fn = op;
  const View3<std::uint8_t> m = mask_view(mask, fn.c_str(), "mask");
  for (int r : radius) {
    if (r < 0 || r > 16) {
      // The plane cache grows with r^2; beyond 16 threshold edt() instead (edt(~m) <= r).
      throw py::value_error(fn + ": radius must be between 0 and 16, got " + std::to_string(r));
    }
  }
  if (op != "dilate" && op != "erode") throw py::value_error("op must be 'dilate' or 'erode'");
  const std::vector<ElemRow> elems = element_rows(shape, radius, static_cast<int>(mask.ndim()));
  py::array out(py::dtype::of<bool>(), shape_of(mask));
  auto* o = static_cast<std::uint8_t*>(out.mutable_data());
  {
    py::gil_scoped_release release;
    morph_kernel(m, elems, op == "erode", o);
  }
  return out;
}

py::array fill_holes(const py::array& mask) {
  const View3<std::uint8_t> m = mask_view(mask, "fill_holes", "mask");
  const int ndim = static_cast<int>(mask.ndim());
  py::array out(py::dtype::of<bool>(), shape_of(mask));
  auto* o = static_cast<std::uint8_t*>(out.mutable_data());
  {
    py::gil_scoped_release release;
    // Label the background 6-connected; components touching the border are outside.
    RunTable t = extract_runs<true>(m);
    connect_runs(t, 6);
    const idx nz = t.nz, ny = t.ny, nx = t.nx;
    std::int32_t* p = t.parent.data();
    std::vector<std::uint8_t> outside(static_cast<std::size_t>(t.size()), 0);
    for (idx r = 0; r < t.rows(); ++r) {
      const idx z = r / ny, y = r % ny;
      const bool row_edge = (ndim >= 3 && (z == 0 || z == nz - 1)) ||
                            (ndim >= 2 && (y == 0 || y == ny - 1));
      for (std::int64_t k = t.row_start[r]; k < t.row_start[r + 1]; ++k) {
        p[k] = p[k] == k ? static_cast<std::int32_t>(k) : p[p[k]];  // root, in raster order
        if (row_edge || t.x0[k] == 0 || t.x1[k] == nx) outside[p[k]] = 1;
      }
    }
#pragma omp parallel for schedule(static) if (t.rows() * nx >= kParallelMin)
    for (idx r = 0; r < t.rows(); ++r) {
      std::uint8_t* orow = o + r * nx;
      std::fill(orow, orow + nx, 1);
      for (std::int64_t k = t.row_start[r]; k < t.row_start[r + 1]; ++k) {
        if (outside[p[k]]) std::fill(orow + t.x0[k], orow + t.x1[k], 0);
      }
    }
  }
  return out;
}

void register_morphology(py::module_& m) {
  m.def("morph", &morph, py::arg("mask"), py::arg("op"), py::arg("shape"), py::arg("radius"),
        "Binary dilation or erosion with a ball or box element (border value 0).");
  m.def("fill_holes", &fill_holes, py::arg("mask"),
        "Fill background regions not 6-connected to the array border.");
}

}  // namespace ndelab
