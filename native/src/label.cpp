// Connected-component labelling with per-component statistics from the same pass.
#include "runs.hpp"

#include <cmath>
#include <limits>

namespace ndelab {

namespace {

void check_connectivity(int connectivity, const char* fn) {
  if (connectivity != 6 && connectivity != 18 && connectivity != 26) {
    throw py::value_error(std::string(fn) + ": connectivity must be 6, 18 or 26, got " +
                          std::to_string(connectivity));
  }
}

// Write labels row by row (C order); visit(run, label, z, y) is called for every run.
template <typename Visit>
void write_labels(const RunTable& t, const std::vector<std::int32_t>& lab, std::int32_t* out,
                  Visit&& visit) {
  const idx rows = t.rows(), nx = t.nx;
#pragma omp parallel for schedule(static) if (rows * nx >= kParallelMin)
  for (idx r = 0; r < rows; ++r) {
    std::int32_t* o = out + r * nx;
    idx x = 0;
    for (std::int64_t k = t.row_start[r]; k < t.row_start[r + 1]; ++k) {
      std::fill(o + x, o + t.x0[k], 0);
      std::fill(o + t.x0[k], o + t.x1[k], lab[k]);
      x = t.x1[k];
      visit(k, r / t.ny, r % t.ny);
    }
    std::fill(o + x, o + nx, 0);
  }
}

struct Labelled {
  RunTable runs;
  std::int32_t count = 0;
};

Labelled label_runs(const View3<std::uint8_t>& m, int connectivity) {
  Labelled l{extract_runs<false>(m), 0};
  connect_runs(l.runs, connectivity);
  l.count = flatten_labels(l.runs);
  return l;
}

// Per-run intensity sum / min / max (no-op when there is no intensity image).
template <typename T>
struct RunIntensity {
  View3<T> v;
  double* sum;
  double* mn;
  double* mx;
  const RunTable* t;
  void operator()(std::int64_t k, idx z, idx y) const {
    const T* row = v.row(z, y);
    const idx sx = v.stride[2];
    double s = 0.0, lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (idx x = t->x0[k]; x < t->x1[k]; ++x) {
      const double val = static_cast<double>(row[x * sx]);
      s += val;
      lo = val < lo ? val : lo;
      hi = val > hi ? val : hi;
    }
    sum[k] = s;
    mn[k] = lo;
    mx[k] = hi;
  }
};

}  // namespace

py::tuple label(const py::array& mask, int connectivity) {
  check_connectivity(connectivity, "label");
  const View3<std::uint8_t> m = mask_view(mask, "label", "mask");
  py::array_t<std::int32_t> out(shape_of(mask));
  std::int32_t* o = out.mutable_data();
  std::int32_t count = 0;
  {
    py::gil_scoped_release release;
    Labelled l = label_runs(m, connectivity);
    count = l.count;
    write_labels(l.runs, l.runs.parent, o, [](std::int64_t, idx, idx) {});
  }
  return py::make_tuple(out, count);
}

py::tuple label_stats(const py::array& mask, int connectivity, const py::object& intensity) {
  check_connectivity(connectivity, "label_stats");
  const View3<std::uint8_t> m = mask_view(mask, "label_stats", "mask");
  const bool has_int = !intensity.is_none();
  py::array inten;
  if (has_int) {
    if (!py::isinstance<py::array>(intensity)) {
      throw py::type_error("label_stats: intensity must be a numpy array or None");
    }
    inten = intensity.cast<py::array>();
    require_same_shape(mask, inten, "label_stats: mask and intensity");
  }
  py::array_t<std::int32_t> out(shape_of(mask));
  std::int32_t* o = out.mutable_data();

  Labelled l;
  std::vector<double> rsum, rmin, rmax;
  auto run_pass = [&](auto tag) {
    using T = decltype(tag);
    View3<T> iv;
    if (has_int) iv = view3<T>(inten, "label_stats: intensity");
    py::gil_scoped_release release;
    l = label_runs(m, connectivity);
    if (has_int) {
      const auto n = static_cast<std::size_t>(l.runs.size());
      rsum.resize(n);
      rmin.resize(n);
      rmax.resize(n);
      write_labels(l.runs, l.runs.parent, o,
                   RunIntensity<T>{iv, rsum.data(), rmin.data(), rmax.data(), &l.runs});
    } else {
      write_labels(l.runs, l.runs.parent, o, [](std::int64_t, idx, idx) {});
    }
    return 0;
  };
  if (has_int) {
    dispatch_numeric(inten, "label_stats: intensity", run_pass);
  } else {
    run_pass(std::uint8_t{});
  }

  const std::int32_t n = l.count;
  py::array_t<std::int64_t> counts(std::vector<idx>{n});
  py::array_t<std::int64_t> bbox(std::vector<idx>{n, 6});
  py::array_t<double> centroid(std::vector<idx>{n, 3});
  py::array_t<double> isum(std::vector<idx>{n}), imin(std::vector<idx>{n}),
      imax(std::vector<idx>{n});
  {
    std::int64_t* c = counts.mutable_data();
    std::int64_t* b = bbox.mutable_data();
    double* ce = centroid.mutable_data();
    double* s = isum.mutable_data();
    double* lo = imin.mutable_data();
    double* hi = imax.mutable_data();
    py::gil_scoped_release release;
    const double inf = std::numeric_limits<double>::infinity();
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const std::int64_t big = std::numeric_limits<std::int64_t>::max();
    for (std::int32_t i = 0; i < n; ++i) {
      c[i] = 0;
      b[6 * i + 0] = b[6 * i + 1] = b[6 * i + 2] = big;
      b[6 * i + 3] = b[6 * i + 4] = b[6 * i + 5] = -1;
      ce[3 * i] = ce[3 * i + 1] = ce[3 * i + 2] = 0.0;
      s[i] = has_int ? 0.0 : nan;
      lo[i] = has_int ? inf : nan;
      hi[i] = has_int ? -inf : nan;
    }
    // Reduce runs into components; runs are few compared with voxels.
    const RunTable& t = l.runs;
    for (idx r = 0; r < t.rows(); ++r) {
      const std::int64_t z = r / t.ny, y = r % t.ny;
      for (std::int64_t k = t.row_start[r]; k < t.row_start[r + 1]; ++k) {
        const std::int64_t i = t.parent[k] - 1;
        const std::int64_t len = t.x1[k] - t.x0[k];
        c[i] += len;
        std::int64_t* bb = b + 6 * i;
        bb[0] = std::min(bb[0], z);
        bb[1] = std::min(bb[1], y);
        bb[2] = std::min<std::int64_t>(bb[2], t.x0[k]);
        bb[3] = std::max(bb[3], z + 1);
        bb[4] = std::max(bb[4], y + 1);
        bb[5] = std::max<std::int64_t>(bb[5], t.x1[k]);
        ce[3 * i] += static_cast<double>(z * len);
        ce[3 * i + 1] += static_cast<double>(y * len);
        // Sum of x over [x0, x1) is len * (x0 + x1 - 1) / 2.
        ce[3 * i + 2] += 0.5 * static_cast<double>(len * (t.x0[k] + t.x1[k] - 1));
        if (has_int) {
          s[i] += rsum[k];
          lo[i] = std::min(lo[i], rmin[k]);
          hi[i] = std::max(hi[i], rmax[k]);
        }
      }
    }
    for (std::int32_t i = 0; i < n; ++i) {
      const double cnt = static_cast<double>(c[i]);
      ce[3 * i] /= cnt;
      ce[3 * i + 1] /= cnt;
      ce[3 * i + 2] /= cnt;
    }
  }
  py::dict stats;
  stats["voxel_count"] = counts;
  stats["bbox"] = bbox;
  stats["centroid"] = centroid;
  stats["sum"] = isum;
  stats["min"] = imin;
  stats["max"] = imax;
  return py::make_tuple(out, n, stats);
}

void register_label(py::module_& m) {
  m.def("label", &label, py::arg("mask"), py::arg("connectivity") = 26,
        "Label connected components; returns (labels int32, count).");
  m.def("label_stats", &label_stats, py::arg("mask"), py::arg("connectivity") = 26,
        py::arg("intensity") = py::none(),
        "Label connected components and gather per-component statistics in the same pass.");
}

}  // namespace ndelab
