// Seeded 3D region growing: breadth-first, one whole level (voxels at the same step count from
// the seed) at a time. Each level is expanded in parallel; a voxel is claimed with an atomic
// exchange, so the grown set does not depend on thread timing. Growth stops before a level
// that would take the region past max_voxels.
#include "common.hpp"

#include <cmath>
#include <optional>

namespace ndelab {

namespace {

struct GrowOptions {
  double lo = 0.0, hi = 0.0;
  double k_sigma = 0.0;  // > 0: adaptive mode
  int radius = 1;        // seed neighbourhood for the adaptive statistics
  bool update = true;    // adaptive: refresh mean and sigma from the region as it grows
  int connectivity = 6;
  std::int64_t max_voxels = 0;
  std::array<idx, 6> roi{0, 0, 0, 0, 0, 0};
  const std::uint8_t* roi_mask = nullptr;  // C-contiguous copy, or null
};

template <typename T>
std::pair<std::int64_t, bool> grow(const View3<T>& v, std::array<idx, 3> seed, GrowOptions opt,
                                   std::uint8_t* out) {
  const idx nz = v.shape[0], ny = v.shape[1], nx = v.shape[2];
  auto inside_roi = [&](idx z, idx y, idx x) {
    if (z < opt.roi[0] || y < opt.roi[1] || x < opt.roi[2] || z >= opt.roi[3] ||
        y >= opt.roi[4] || x >= opt.roi[5]) {
      return false;
    }
    return opt.roi_mask == nullptr || opt.roi_mask[(z * ny + y) * nx + x] != 0;
  };
  const idx sz = seed[0], sy = seed[1], sx = seed[2];
  if (!inside_roi(sz, sy, sx)) return {0, false};
  double lo = opt.lo, hi = opt.hi;
  double nsum = 0.0, nsq = 0.0, ncount = 0.0;
  if (opt.k_sigma > 0.0) {
    for (idx z = std::max<idx>(0, sz - opt.radius); z <= std::min(nz - 1, sz + opt.radius); ++z)
      for (idx y = std::max<idx>(0, sy - opt.radius); y <= std::min(ny - 1, sy + opt.radius); ++y)
        for (idx x = std::max<idx>(0, sx - opt.radius); x <= std::min(nx - 1, sx + opt.radius);
             ++x) {
          const double val = static_cast<double>(v.at(z, y, x));
          nsum += val;
          nsq += val * val;
          ncount += 1.0;
        }
    const double mean = nsum / ncount;
    const double sd = std::sqrt(std::max(0.0, nsq / ncount - mean * mean));
    lo = mean - opt.k_sigma * sd;
    hi = mean + opt.k_sigma * sd;
  } else {
    const double sv = static_cast<double>(v.at(sz, sy, sx));
    if (!(sv >= lo && sv <= hi)) return {0, false};
  }
  if (opt.max_voxels < 1) return {0, true};
  std::vector<std::array<int, 3>> offsets;
  for (int dz = -1; dz <= 1; ++dz)
    for (int dy = -1; dy <= 1; ++dy)
      for (int dx = -1; dx <= 1; ++dx) {
        const int n = std::abs(dz) + std::abs(dy) + std::abs(dx);
        if (n == 0 || (opt.connectivity == 6 && n > 1) || (opt.connectivity == 18 && n > 2))
          continue;
        offsets.push_back({dz, dy, dx});
      }
  std::vector<std::int64_t> frontier{(sz * ny + sy) * nx + sx};
  out[frontier[0]] = 1;
  std::int64_t count = 1;
  double rsum = static_cast<double>(v.at(sz, sy, sx));
  double rsq = rsum * rsum;
  bool truncated = false;
  const int nthreads = max_threads();
  std::vector<std::vector<std::int64_t>> next(static_cast<std::size_t>(nthreads));
  while (!frontier.empty()) {
    for (auto& n : next) n.clear();
    const idx nf = static_cast<idx>(frontier.size());
#pragma omp parallel if (nf > 4096)
    {
      std::vector<std::int64_t>& mine = next[static_cast<std::size_t>(thread_id())];
#pragma omp for schedule(dynamic, 512)
      for (idx i = 0; i < nf; ++i) {
        const std::int64_t p = frontier[static_cast<std::size_t>(i)];
        const idx z = p / (ny * nx), y = (p / nx) % ny, x = p % nx;
        for (const auto& o : offsets) {
          const idx qz = z + o[0], qy = y + o[1], qx = x + o[2];
          if (qz < 0 || qy < 0 || qx < 0 || qz >= nz || qy >= ny || qx >= nx) continue;
          const std::int64_t q = (qz * ny + qy) * nx + qx;
          if (__atomic_load_n(out + q, __ATOMIC_RELAXED)) continue;
          if (!inside_roi(qz, qy, qx)) continue;
          const double val = static_cast<double>(v.at(qz, qy, qx));
          if (!(val >= lo && val <= hi)) continue;
          if (__atomic_exchange_n(out + q, std::uint8_t{1}, __ATOMIC_RELAXED) == 0) {
            mine.push_back(q);
          }
        }
      }
    }
    std::int64_t added = 0;
    for (const auto& n : next) added += static_cast<std::int64_t>(n.size());
    if (count + added > opt.max_voxels) {
      for (const auto& n : next)
        for (std::int64_t q : n) out[q] = 0;
      truncated = true;
      break;
    }
    count += added;
    frontier.clear();
    for (const auto& n : next) {
      frontier.insert(frontier.end(), n.begin(), n.end());
      if (opt.k_sigma > 0.0 && opt.update) {
        for (std::int64_t q : n) {
          const double val = static_cast<double>(v.data[(q / (ny * nx)) * v.stride[0] +
                                                        ((q / nx) % ny) * v.stride[1] +
                                                        (q % nx) * v.stride[2]]);
          rsum += val;
          rsq += val * val;
        }
      }
    }
    // The region's own statistics replace the seed neighbourhood's once it is as large.
    if (opt.k_sigma > 0.0 && opt.update && static_cast<double>(count) >= ncount) {
      const double c = static_cast<double>(count);
      const double mean = rsum / c;
      const double sd = std::sqrt(std::max(0.0, rsq / c - mean * mean));
      lo = mean - opt.k_sigma * sd;
      hi = mean + opt.k_sigma * sd;
    }
  }
  return {count, truncated};
}

}  // namespace

py::tuple region_grow(const py::array& volume, const std::array<idx, 3>& seed, double lo,
                      double hi, double k_sigma, int radius, bool update, int connectivity,
                      std::int64_t max_voxels, const std::optional<std::array<idx, 6>>& roi_bbox,
                      const py::object& roi_mask) {
  if (volume.ndim() != 3) {
    throw py::value_error("region_grow: volume must be 3D, got " + std::to_string(volume.ndim()) +
                          " dimensions");
  }
  if (connectivity != 6 && connectivity != 18 && connectivity != 26) {
    throw py::value_error("region_grow: connectivity must be 6, 18 or 26");
  }
  if (radius < 0) throw py::value_error("region_grow: radius must be >= 0");
  if (max_voxels < 0) throw py::value_error("region_grow: max_voxels must be >= 0");
  const idx nz = volume.shape(0), ny = volume.shape(1), nx = volume.shape(2);
  for (int a = 0; a < 3; ++a) {
    if (seed[a] < 0 || seed[a] >= volume.shape(a)) {
      throw py::value_error("region_grow: seed (" + std::to_string(seed[0]) + ", " +
                            std::to_string(seed[1]) + ", " + std::to_string(seed[2]) +
                            ") lies outside the volume " + shape_str(volume));
    }
  }
  GrowOptions opt;
  opt.lo = lo;
  opt.hi = hi;
  opt.k_sigma = k_sigma;
  opt.radius = radius;
  opt.update = update;
  opt.connectivity = connectivity;
  opt.max_voxels = max_voxels;
  opt.roi = {0, 0, 0, nz, ny, nx};
  if (roi_bbox) {
    const auto& b = *roi_bbox;
    for (int a = 0; a < 3; ++a) {
      opt.roi[a] = std::max<idx>(0, b[a]);
      opt.roi[a + 3] = std::min<idx>(volume.shape(a), b[a + 3]);
    }
  }
  py::array mask_c;
  if (!roi_mask.is_none()) {
    if (!py::isinstance<py::array>(roi_mask)) {
      throw py::type_error("region_grow: roi mask must be a numpy array");
    }
    py::array rm = roi_mask.cast<py::array>();
    mask_view(rm, "region_grow", "roi mask", 3);
    require_same_shape(volume, rm, "region_grow: volume and roi mask");
    mask_c = py::array_t<std::uint8_t, py::array::c_style | py::array::forcecast>::ensure(
        rm.attr("view")(py::dtype::of<std::uint8_t>()));
    opt.roi_mask = static_cast<const std::uint8_t*>(mask_c.data());
  }
  py::array out(py::dtype::of<bool>(), shape_of(volume));
  auto* o = static_cast<std::uint8_t*>(out.mutable_data());
  std::fill(o, o + nz * ny * nx, 0);
  std::pair<std::int64_t, bool> res;
  dispatch_numeric(volume, "region_grow: volume", [&](auto tag) {
    using T = decltype(tag);
    const View3<T> v = view3<T>(volume, "region_grow: volume", 3);
    py::gil_scoped_release release;
    res = grow<T>(v, seed, opt, o);
    return 0;
  });
  return py::make_tuple(out, res.first, res.second);
}

void register_region(py::module_& m) {
  m.def("region_grow", &region_grow, py::arg("volume"), py::arg("seed"), py::arg("lo"),
        py::arg("hi"), py::arg("k_sigma"), py::arg("radius"), py::arg("update"),
        py::arg("connectivity"), py::arg("max_voxels"), py::arg("roi_bbox"),
        py::arg("roi_mask"),
        "Seeded region growing; returns (mask, voxel count, truncated).");
}

}  // namespace ndelab
