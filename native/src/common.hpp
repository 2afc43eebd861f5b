// Shared helpers for the native kernels: array views over arbitrary strides.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace ndelab {
namespace py = pybind11;

// A read view of an up-to-3D array padded to 3D, with strides in elements.
template <typename T>
struct View3 {
  const T* data = nullptr;
  std::array<py::ssize_t, 3> shape{1, 1, 1};
  std::array<py::ssize_t, 3> stride{0, 0, 0};

  inline const T& at(py::ssize_t z, py::ssize_t y, py::ssize_t x) const {
    return data[z * stride[0] + y * stride[1] + x * stride[2]];
  }
  py::ssize_t size() const { return shape[0] * shape[1] * shape[2]; }
};

template <typename T>
View3<T> view3(const py::array& a, const char* name) {
  if (a.ndim() < 1 || a.ndim() > 3) {
    throw py::value_error(std::string(name) + " must have 1 to 3 dimensions, got " +
                          std::to_string(a.ndim()));
  }
  View3<T> v;
  v.data = static_cast<const T*>(a.data());
  const int pad = 3 - static_cast<int>(a.ndim());
  for (int i = 0; i < a.ndim(); ++i) {
    if (a.strides(i) % static_cast<py::ssize_t>(sizeof(T)) != 0) {
      throw py::value_error(std::string(name) + " has strides that are not a multiple of its item size");
    }
    v.shape[pad + i] = a.shape(i);
    v.stride[pad + i] = a.strides(i) / static_cast<py::ssize_t>(sizeof(T));
  }
  return v;
}

inline std::string dtype_name(const py::array& a) { return py::str(a.dtype()).cast<std::string>(); }

}  // namespace ndelab
