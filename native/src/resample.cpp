// Trilinear resampling of a whole volume and oblique (MPR) reslicing of one plane.
#include "common.hpp"

#include <cmath>

namespace ndelab {

namespace {

// Lower index and weight of the upper neighbour for coordinate c on an axis of length n.
// Returns false when c lies outside [0, n - 1].
inline bool axis_weight(double c, idx n, idx& i0, idx& i1, double& f) {
  if (!(c >= 0.0) || c > static_cast<double>(n - 1)) return false;
  i0 = std::min(static_cast<idx>(c), std::max<idx>(n - 2, 0));
  i1 = std::min(i0 + 1, n - 1);
  f = c - static_cast<double>(i0);
  return true;
}

template <typename T>
inline double trilinear(const View3<T>& v, idx z0, idx z1, double fz, idx y0, idx y1, double fy,
                        idx x0, idx x1, double fx) {
  auto lerp = [](double a, double b, double t) { return a + (b - a) * t; };
  auto val = [&](idx z, idx y, idx x) { return static_cast<double>(v.at(z, y, x)); };
  const double c00 = lerp(val(z0, y0, x0), val(z0, y0, x1), fx);
  const double c01 = lerp(val(z0, y1, x0), val(z0, y1, x1), fx);
  const double c10 = lerp(val(z1, y0, x0), val(z1, y0, x1), fx);
  const double c11 = lerp(val(z1, y1, x0), val(z1, y1, x1), fx);
  return lerp(lerp(c00, c01, fy), lerp(c10, c11, fy), fz);
}

struct AxisTable {
  std::vector<idx> i0, i1;
  std::vector<double> f;
};

// Align-corners mapping: output i samples input i * (n_in - 1) / (n_out - 1).
AxisTable axis_table(idx n_in, idx n_out) {
  AxisTable t;
  t.i0.resize(static_cast<std::size_t>(n_out));
  t.i1.resize(static_cast<std::size_t>(n_out));
  t.f.resize(static_cast<std::size_t>(n_out));
  const double step = n_out > 1 ? static_cast<double>(n_in - 1) / static_cast<double>(n_out - 1) : 0.0;
  for (idx i = 0; i < n_out; ++i) {
    const double c = std::min(static_cast<double>(i) * step, static_cast<double>(n_in - 1));
    axis_weight(c, n_in, t.i0[i], t.i1[i], t.f[i]);
  }
  return t;
}

}  // namespace

py::array_t<float> resample_trilinear(const py::array& volume, const std::vector<idx>& out_shape) {
  if (static_cast<int>(out_shape.size()) != volume.ndim()) {
    throw py::value_error("resample_trilinear: out_shape needs " + std::to_string(volume.ndim()) +
                          " entries, got " + std::to_string(out_shape.size()));
  }
  for (idx n : out_shape) {
    if (n < 1) throw py::value_error("resample_trilinear: out_shape entries must be >= 1");
  }
  for (int i = 0; i < volume.ndim(); ++i) {
    if (volume.shape(i) < 1) throw py::value_error("resample_trilinear: volume is empty");
  }
  py::array_t<float> out(out_shape);
  float* o = out.mutable_data();
  dispatch_numeric(volume, "resample_trilinear: volume", [&](auto tag) {
    using T = decltype(tag);
    const View3<T> v = view3<T>(volume, "resample_trilinear: volume");
    std::array<idx, 3> os{1, 1, 1};
    for (std::size_t i = 0; i < out_shape.size(); ++i) os[3 - out_shape.size() + i] = out_shape[i];
    py::gil_scoped_release release;
    const AxisTable tz = axis_table(v.shape[0], os[0]), ty = axis_table(v.shape[1], os[1]),
                    tx = axis_table(v.shape[2], os[2]);
#pragma omp parallel for schedule(dynamic, 8) if (os[0] * os[1] * os[2] >= kParallelMin / 8)
    for (idx r = 0; r < os[0] * os[1]; ++r) {
      const idx z = r / os[1], y = r % os[1];
      float* orow = o + r * os[2];
      for (idx x = 0; x < os[2]; ++x) {
        orow[x] = static_cast<float>(trilinear(v, tz.i0[z], tz.i1[z], tz.f[z], ty.i0[y], ty.i1[y],
                                               ty.f[y], tx.i0[x], tx.i1[x], tx.f[x]));
      }
    }
    return 0;
  });
  return out;
}

py::array_t<float> reslice(const py::array& volume, const std::array<double, 3>& origin,
                           const std::array<double, 3>& u, const std::array<double, 3>& v_axis,
                           const std::array<idx, 2>& out_shape,
                           const std::array<double, 3>& spacing, double fill) {
  if (volume.ndim() != 3) {
    throw py::value_error("reslice: volume must be 3D, got " + std::to_string(volume.ndim()) +
                          " dimensions");
  }
  if (out_shape[0] < 1 || out_shape[1] < 1) {
    throw py::value_error("reslice: out_shape entries must be >= 1");
  }
  for (double s : spacing) {
    if (!(s > 0.0) || !std::isfinite(s)) {
      throw py::value_error("reslice: spacing values must be positive and finite");
    }
  }
  py::array_t<float> out(std::vector<idx>{out_shape[0], out_shape[1]});
  float* o = out.mutable_data();
  dispatch_numeric(volume, "reslice: volume", [&](auto tag) {
    using T = decltype(tag);
    const View3<T> vol = view3<T>(volume, "reslice: volume");
    py::gil_scoped_release release;
    const idx h = out_shape[0], w = out_shape[1];
#pragma omp parallel for schedule(dynamic, 4) if (h * w >= 16384)
    for (idx r = 0; r < h; ++r) {
      for (idx c = 0; c < w; ++c) {
        std::array<double, 3> p;
        for (int a = 0; a < 3; ++a) {
          p[a] = (origin[a] + static_cast<double>(r) * v_axis[a] + static_cast<double>(c) * u[a]) /
                 spacing[a];
        }
        idx z0, z1, y0, y1, x0, x1;
        double fz, fy, fx;
        if (axis_weight(p[0], vol.shape[0], z0, z1, fz) &&
            axis_weight(p[1], vol.shape[1], y0, y1, fy) &&
            axis_weight(p[2], vol.shape[2], x0, x1, fx)) {
          o[r * w + c] = static_cast<float>(trilinear(vol, z0, z1, fz, y0, y1, fy, x0, x1, fx));
        } else {
          o[r * w + c] = static_cast<float>(fill);
        }
      }
    }
    return 0;
  });
  return out;
}

void register_resample(py::module_& m) {
  m.def("resample_trilinear", &resample_trilinear, py::arg("volume"), py::arg("out_shape"),
        "Trilinear resampling onto out_shape (corner voxels map onto corner voxels).");
  m.def("reslice", &reslice, py::arg("volume"), py::arg("origin"), py::arg("u"), py::arg("v"),
        py::arg("out_shape"), py::arg("spacing"), py::arg("fill"),
        "Sample the plane origin + r*v + c*u (physical units / spacing -> voxel index).");
}

}  // namespace ndelab
