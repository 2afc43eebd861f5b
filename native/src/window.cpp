// Display windowing: map an intensity interval [low, high] linearly onto 0..255.
#include "common.hpp"

#include <algorithm>
#include <cmath>

namespace ndelab {

namespace {

template <typename T>
py::array_t<std::uint8_t> window_impl(const py::array& src, double low, double high) {
  const View3<T> in = view3<T>(src, "volume");
  std::vector<py::ssize_t> shape(src.shape(), src.shape() + src.ndim());
  py::array_t<std::uint8_t> out(shape);
  std::uint8_t* o = out.mutable_data();
  const double scale = 255.0 / (high - low);
  const py::ssize_t ny = in.shape[1], nx = in.shape[2], plane = ny * nx;
  const py::ssize_t rows = in.shape[0] * ny;
  {
    py::gil_scoped_release release;
#pragma omp parallel for schedule(static) if (rows * nx > 65536)
    for (py::ssize_t r = 0; r < rows; ++r) {
      const py::ssize_t z = r / ny, y = r % ny;
      const T* row = &in.at(z, y, 0);
      std::uint8_t* orow = o + z * plane + y * nx;
      const py::ssize_t sx = in.stride[2];
      for (py::ssize_t x = 0; x < nx; ++x) {
        // float math keeps one code path for every input type; the clamp handles overflow.
        const double v = (static_cast<double>(row[x * sx]) - low) * scale;
        orow[x] = static_cast<std::uint8_t>(v <= 0.0 ? 0.0 : (v >= 255.0 ? 255.0 : v + 0.5));
      }
    }
  }
  return out;
}

// 16-bit inputs go through a 65536-entry table: one load per voxel instead of float math.
template <typename T>
py::array_t<std::uint8_t> window_lut16(const py::array& src, double low, double high) {
  static_assert(sizeof(T) == 2, "16-bit types only");
  std::array<std::uint8_t, 65536> lut;
  const double scale = 255.0 / (high - low);
  for (int i = 0; i < 65536; ++i) {
    const double value = std::is_signed<T>::value ? static_cast<double>(i - 32768) : static_cast<double>(i);
    const double v = (value - low) * scale;
    lut[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v <= 0.0 ? 0.0 : (v >= 255.0 ? 255.0 : v + 0.5));
  }
  const View3<T> in = view3<T>(src, "volume");
  std::vector<py::ssize_t> shape(src.shape(), src.shape() + src.ndim());
  py::array_t<std::uint8_t> out(shape);
  std::uint8_t* o = out.mutable_data();
  const py::ssize_t ny = in.shape[1], nx = in.shape[2], plane = ny * nx;
  const py::ssize_t rows = in.shape[0] * ny;
  {
    py::gil_scoped_release release;
#pragma omp parallel for schedule(static) if (rows * nx > 65536)
    for (py::ssize_t r = 0; r < rows; ++r) {
      const py::ssize_t z = r / ny, y = r % ny;
      const T* row = &in.at(z, y, 0);
      std::uint8_t* orow = o + z * plane + y * nx;
      const py::ssize_t sx = in.stride[2];
      for (py::ssize_t x = 0; x < nx; ++x) {
        const std::size_t key = std::is_signed<T>::value
                                    ? static_cast<std::size_t>(static_cast<int>(row[x * sx]) + 32768)
                                    : static_cast<std::size_t>(row[x * sx]);
        orow[x] = lut[key];
      }
    }
  }
  return out;
}

}  // namespace

py::array_t<std::uint8_t> window(const py::array& volume, double low, double high) {
  if (!(high > low)) throw py::value_error("window: high must be greater than low");
  if (!std::isfinite(low) || !std::isfinite(high)) throw py::value_error("window: low and high must be finite");
  const auto dt = volume.dtype();
  if (dt.is(py::dtype::of<std::uint16_t>())) return window_lut16<std::uint16_t>(volume, low, high);
  if (dt.is(py::dtype::of<std::int16_t>())) return window_lut16<std::int16_t>(volume, low, high);
  if (dt.is(py::dtype::of<float>())) return window_impl<float>(volume, low, high);
  if (dt.is(py::dtype::of<std::uint8_t>())) return window_impl<std::uint8_t>(volume, low, high);
  throw py::type_error("window: expected uint8, uint16, int16 or float32 voxels, got " + dtype_name(volume));
}

void register_window(py::module_& m) {
  m.def("window", &window, py::arg("volume"), py::arg("low"), py::arg("high"),
        "Map [low, high] linearly onto uint8 0..255, clamping outside.");
}

}  // namespace ndelab
