// Shared helpers for the native kernels: array views over arbitrary strides, argument checks,
// dtype dispatch and thread counts.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace ndelab {
namespace py = pybind11;
using idx = py::ssize_t;

// Below this many voxels a kernel runs on the calling thread: waking the OpenMP team costs
// more than the work, and far more when other processes keep the cores busy.
constexpr std::int64_t kParallelMin = std::int64_t{1} << 20;

inline int max_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

inline int thread_id() {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

// A read view of an up-to-3D array padded to 3D (leading axes of size 1), strides in elements.
template <typename T>
struct View3 {
  const T* data = nullptr;
  std::array<idx, 3> shape{1, 1, 1};
  std::array<idx, 3> stride{0, 0, 0};
  int ndim = 3;

  inline const T& at(idx z, idx y, idx x) const {
    return data[z * stride[0] + y * stride[1] + x * stride[2]];
  }
  inline const T* row(idx z, idx y) const { return data + z * stride[0] + y * stride[1]; }
  idx size() const { return shape[0] * shape[1] * shape[2]; }
  idx rows() const { return shape[0] * shape[1]; }
  // A pointer to row (z, y) with unit x-stride: the row itself, or a copy gathered into buf.
  inline const T* contiguous_row(idx z, idx y, T* buf) const {
    const T* r = row(z, y);
    if (stride[2] == 1) return r;
    for (idx x = 0; x < shape[2]; ++x) buf[x] = r[x * stride[2]];
    return buf;
  }
};

template <typename T>
View3<T> view3(const py::array& a, const char* name, int min_ndim = 1) {
  if (a.ndim() < min_ndim || a.ndim() > 3) {
    throw py::value_error(std::string(name) + " must have " + std::to_string(min_ndim) +
                          " to 3 dimensions, got " + std::to_string(a.ndim()));
  }
  View3<T> v;
  v.data = static_cast<const T*>(a.data());
  v.ndim = static_cast<int>(a.ndim());
  const int pad = 3 - static_cast<int>(a.ndim());
  for (int i = 0; i < a.ndim(); ++i) {
    if (a.strides(i) % static_cast<idx>(sizeof(T)) != 0) {
      throw py::value_error(std::string(name) +
                            " has strides that are not a multiple of its item size");
    }
    v.shape[pad + i] = a.shape(i);
    v.stride[pad + i] = a.strides(i) / static_cast<idx>(sizeof(T));
  }
  return v;
}

inline std::string dtype_name(const py::array& a) { return py::str(a.dtype()).cast<std::string>(); }

inline std::string shape_str(const py::array& a) {
  std::string s = "(";
  for (int i = 0; i < a.ndim(); ++i) s += (i ? ", " : "") + std::to_string(a.shape(i));
  if (a.ndim() == 1) s += ",";
  return s + ")";
}

template <typename T>
inline bool is_dtype(const py::array& a) {
  return a.dtype().is(py::dtype::of<T>());
}

// Masks are bool or uint8 (non-zero is foreground); both are one byte, read as uint8.
inline View3<std::uint8_t> mask_view(const py::array& a, const char* fn, const char* name,
                                     int min_ndim = 1) {
  if (!is_dtype<bool>(a) && !is_dtype<std::uint8_t>(a)) {
    throw py::type_error(std::string(fn) + ": " + name + " must be a bool or uint8 array, got " +
                         dtype_name(a));
  }
  return view3<std::uint8_t>(a, (std::string(fn) + ": " + name).c_str(), min_ndim);
}

inline std::vector<idx> shape_of(const py::array& a) {
  return std::vector<idx>(a.shape(), a.shape() + a.ndim());
}

// Call f(T{}) with the C++ type matching a numeric array's dtype.
template <typename F>
decltype(auto) dispatch_numeric(const py::array& a, const std::string& what, F&& f) {
  if (is_dtype<std::uint8_t>(a)) return f(std::uint8_t{});
  if (is_dtype<bool>(a)) return f(std::uint8_t{});
  if (is_dtype<std::int8_t>(a)) return f(std::int8_t{});
  if (is_dtype<std::uint16_t>(a)) return f(std::uint16_t{});
  if (is_dtype<std::int16_t>(a)) return f(std::int16_t{});
  if (is_dtype<std::uint32_t>(a)) return f(std::uint32_t{});
  if (is_dtype<std::int32_t>(a)) return f(std::int32_t{});
  if (is_dtype<float>(a)) return f(float{});
  if (is_dtype<double>(a)) return f(double{});
  throw py::type_error(what + " must be an integer (up to 32-bit) or float array, got " +
                       dtype_name(a));
}

inline void require_same_shape(const py::array& a, const py::array& b, const std::string& what) {
  bool same = a.ndim() == b.ndim();
  for (int i = 0; same && i < a.ndim(); ++i) same = a.shape(i) == b.shape(i);
  if (!same) {
    throw py::value_error(what + ": shapes differ, " + shape_str(a) + " and " + shape_str(b));
  }
}

}  // namespace ndelab
