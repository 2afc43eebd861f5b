// Run-length code of a mask inside its bounding box, the stored form of an indication's mask.
//
// Format: bbox = (lo_0.., hi_0..) per axis with hi exclusive, e.g. (z0, y0, x0, z1, y1, x1);
// runs = uint32 lengths over the crop mask[z0:z1, y0:y1, x0:x1] in C order, alternating
// background and foreground and starting with background (0 when the crop starts with
// foreground). The final background run is left out, so len(runs) is even. An empty mask has
// an all-zero bbox and no runs.
#include "common.hpp"

#include <limits>
#include <optional>

namespace ndelab {

py::tuple rle_encode(const py::array& mask) {
  const View3<std::uint8_t> m = mask_view(mask, "rle_encode", "mask");
  const int nd = static_cast<int>(mask.ndim());
  const idx nz = m.shape[0], ny = m.shape[1], nx = m.shape[2];
  std::array<idx, 6> bb{nz, ny, nx, -1, -1, -1};
  std::vector<std::uint32_t> runs;
  bool too_big = false;
  {
    py::gil_scoped_release release;
    // Bounding box: each thread keeps its own, merged under a critical section.
#pragma omp parallel if (m.size() >= kParallelMin)
    {
      std::array<idx, 6> b{nz, ny, nx, -1, -1, -1};
#pragma omp for schedule(static)
      for (idx r = 0; r < nz * ny; ++r) {
        const std::uint8_t* row = m.row(r / ny, r % ny);
        idx first = -1, last = -1;
        for (idx x = 0; x < nx; ++x) {
          if (row[x * m.stride[2]]) {
            if (first < 0) first = x;
            last = x;
          }
        }
        if (first < 0) continue;
        const idx z = r / ny, y = r % ny;
        b[0] = std::min(b[0], z);
        b[1] = std::min(b[1], y);
        b[2] = std::min(b[2], first);
        b[3] = std::max(b[3], z);
        b[4] = std::max(b[4], y);
        b[5] = std::max(b[5], last);
      }
#pragma omp critical
      for (int a = 0; a < 3; ++a) {
        bb[a] = std::min(bb[a], b[a]);
        bb[a + 3] = std::max(bb[a + 3], b[a + 3]);
      }
    }
    if (bb[3] >= 0) {
      const idx cz = bb[3] - bb[0] + 1, cy = bb[4] - bb[1] + 1, cx = bb[5] - bb[2] + 1;
      if (cz * cy * cx >= static_cast<idx>(std::numeric_limits<std::uint32_t>::max())) {
        too_big = true;
      } else {
        // Foreground intervals in crop-linear positions, per z-chunk in parallel.
        const int nt = max_threads();
        std::vector<std::vector<std::pair<idx, idx>>> parts(static_cast<std::size_t>(nt));
#pragma omp parallel for schedule(static, 1) if (cz * cy * cx >= kParallelMin)
        for (int t = 0; t < nt; ++t) {
          auto& iv = parts[static_cast<std::size_t>(t)];
          for (idx z = cz * t / nt; z < cz * (t + 1) / nt; ++z)
            for (idx y = 0; y < cy; ++y) {
              const std::uint8_t* row = m.row(bb[0] + z, bb[1] + y);
              const idx base = (z * cy + y) * cx;
              idx x = 0;
              while (x < cx) {
                while (x < cx && !row[(bb[2] + x) * m.stride[2]]) ++x;
                if (x >= cx) break;
                const idx s = x;
                while (x < cx && row[(bb[2] + x) * m.stride[2]]) ++x;
                if (!iv.empty() && iv.back().second == base + s) {
                  iv.back().second = base + x;  // continues across the row end
                } else {
                  iv.emplace_back(base + s, base + x);
                }
              }
            }
        }
        idx pos = 0;
        for (const auto& iv : parts)
          for (const auto& [s, e] : iv) {
            if (!runs.empty() && pos == s) {
              runs.back() += static_cast<std::uint32_t>(e - s);  // joins across chunks
            } else {
              runs.push_back(static_cast<std::uint32_t>(s - pos));
              runs.push_back(static_cast<std::uint32_t>(e - s));
            }
            pos = e;
          }
      }
    }
  }
  if (too_big) {
    throw py::value_error("rle_encode: the mask's bounding box holds 2^32 voxels or more");
  }
  py::tuple bbox(2 * nd);
  for (int a = 0; a < nd; ++a) {
    const int k = 3 - nd + a;
    const bool empty = bb[3] < 0;
    bbox[a] = py::int_(empty ? 0 : bb[k]);
    bbox[nd + a] = py::int_(empty ? 0 : bb[k + 3] + 1);
  }
  py::array_t<std::uint32_t> out(static_cast<idx>(runs.size()));
  std::copy(runs.begin(), runs.end(), out.mutable_data());
  return py::make_tuple(bbox, out);
}

py::array rle_decode(const std::vector<idx>& bbox, const py::array& runs_any,
                     const std::optional<std::vector<idx>>& shape) {
  if (bbox.empty() || bbox.size() % 2 != 0 || bbox.size() > 6) {
    throw py::value_error("rle_decode: bbox must hold 2, 4 or 6 integers (lows then highs), got " +
                          std::to_string(bbox.size()));
  }
  const std::size_t nd = bbox.size() / 2;
  std::vector<idx> crop(nd);
  idx total = 1;
  for (std::size_t a = 0; a < nd; ++a) {
    if (bbox[a] < 0 || bbox[nd + a] < bbox[a]) {
      throw py::value_error("rle_decode: bbox axis " + std::to_string(a) + " runs from " +
                            std::to_string(bbox[a]) + " to " + std::to_string(bbox[nd + a]));
    }
    crop[a] = bbox[nd + a] - bbox[a];
    total *= crop[a];
  }
  if (shape) {
    if (shape->size() != nd) {
      throw py::value_error("rle_decode: shape has " + std::to_string(shape->size()) +
                            " axes but bbox describes " + std::to_string(nd));
    }
    for (std::size_t a = 0; a < nd; ++a) {
      if (bbox[nd + a] > (*shape)[a]) {
        throw py::value_error("rle_decode: bbox reaches past the shape on axis " +
                              std::to_string(a));
      }
    }
  }
  if (runs_any.ndim() != 1) throw py::value_error("rle_decode: runs must be 1D");
  if (!is_dtype<std::uint32_t>(runs_any) && !is_dtype<std::int64_t>(runs_any) &&
      !is_dtype<std::int32_t>(runs_any) && !is_dtype<std::uint64_t>(runs_any)) {
    throw py::type_error("rle_decode: runs must be uint32 (or another integer type), got " +
                         dtype_name(runs_any));
  }
  const auto runs = py::array_t<std::int64_t, py::array::forcecast>::ensure(runs_any);
  const idx nr = runs.shape(0);
  if (nr % 2 != 0) throw py::value_error("rle_decode: runs must have an even length");
  std::vector<idx> starts(static_cast<std::size_t>(nr / 2));
  const std::int64_t* r = runs.data();
  idx pos = 0;
  for (idx i = 0; i < nr; ++i) {
    if (r[i] < 0) throw py::value_error("rle_decode: runs must not be negative");
    if (i % 2 == 1) starts[static_cast<std::size_t>(i / 2)] = pos;
    pos += r[i];
    if (pos > total) {
      throw py::value_error("rle_decode: runs cover more than the " + std::to_string(total) +
                            " voxels of the bounding box");
    }
  }
  py::array out(py::dtype::of<bool>(), shape ? *shape : crop);
  auto* o = static_cast<std::uint8_t*>(out.mutable_data());
  {
    py::gil_scoped_release release;
    const idx out_total = shape ? [&] {
      idx t = 1;
      for (idx s : *shape) t *= s;
      return t;
    }() : total;
    std::fill(o, o + out_total, 0);
    std::array<idx, 3> c{1, 1, 1}, lo{0, 0, 0}, full{1, 1, 1};
    for (std::size_t a = 0; a < nd; ++a) {
      c[3 - nd + a] = crop[a];
      lo[3 - nd + a] = shape ? bbox[a] : 0;
      full[3 - nd + a] = shape ? (*shape)[a] : crop[a];
    }
    const idx nruns = nr / 2;
#pragma omp parallel for schedule(dynamic, 64) if (nruns > 1024)
    for (idx k = 0; k < nruns; ++k) {
      idx p = starts[static_cast<std::size_t>(k)];
      const idx end = p + r[2 * k + 1];
      while (p < end) {  // a run may wrap over crop rows
        const idx x = p % c[2], y = (p / c[2]) % c[1], z = p / (c[2] * c[1]);
        const idx len = std::min(end - p, c[2] - x);
        std::uint8_t* dst = o + ((lo[0] + z) * full[1] + lo[1] + y) * full[2] + lo[2] + x;
        std::fill(dst, dst + len, 1);
        p += len;
      }
    }
  }
  return out;
}

void register_rle(py::module_& m) {
  m.def("rle_encode", &rle_encode, py::arg("mask"),
        "Run-length code of a mask inside its bounding box: (bbox, uint32 runs).");
  m.def("rle_decode", &rle_decode, py::arg("bbox"), py::arg("runs"), py::arg("shape") = py::none(),
        "Decode rle_encode output into the crop, or into a full array of `shape`.");
}

}  // namespace ndelab
