// Display windowing: map an intensity interval [low, high] linearly onto 0..255.
#include "common.hpp"

#include <algorithm>
#include <cmath>
#include <type_traits>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace ndelab {

namespace {

// Float math in the input's precision for float32 (vectorises); doubles for the rest.
// One contiguous row; kept apart from the OpenMP body so that it vectorises.
template <typename T, typename F>
void window_row(const T* __restrict row, std::uint8_t* __restrict orow, idx nx, F lo, F scale) {
  idx x = 0;
#if defined(__SSE2__)
  if constexpr (std::is_same<T, float>::value) {
    // 16 voxels a step: float math, truncating convert, then saturating packs do the clamp
    // to 0..255. min(255, v) keeps NaN (which converts to INT_MIN and packs to 0) and maps
    // +inf to 255; -inf and large negatives convert to INT_MIN and pack to 0 as well.
    const __m128 vlo = _mm_set1_ps(lo), vscale = _mm_set1_ps(scale), half = _mm_set1_ps(0.5f),
                 top = _mm_set1_ps(255.0f);
    auto conv = [&](const float* p) {
      __m128 v = _mm_add_ps(_mm_mul_ps(_mm_sub_ps(_mm_loadu_ps(p), vlo), vscale), half);
      return _mm_cvttps_epi32(_mm_min_ps(top, v));
    };
    for (; x + 16 <= nx; x += 16) {
      const __m128i a = _mm_packs_epi32(conv(row + x), conv(row + x + 4));
      const __m128i b = _mm_packs_epi32(conv(row + x + 8), conv(row + x + 12));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(orow + x), _mm_packus_epi16(a, b));
    }
  }
#endif
  for (; x < nx; ++x) {
    F v = (static_cast<F>(row[x]) - lo) * scale + F(0.5);  // + 0.5 then truncate: rounding
    // This form vectorises (maxps/minps). NaN survives the clamp and converts to 0: INT_MIN
    // on x86 and 0 on ARM, both with low byte 0.
    v = std::min(std::max(v, F(0)), F(255));
    orow[x] = static_cast<std::uint8_t>(static_cast<int>(v));
  }
}

template <typename T>
py::array_t<std::uint8_t> window_impl(const py::array& src, double low, double high) {
  using F = std::conditional_t<std::is_same<T, float>::value, float, double>;
  const View3<T> in = view3<T>(src, "volume");
  py::array_t<std::uint8_t> out(shape_of(src));
  std::uint8_t* o = out.mutable_data();
  const F scale = static_cast<F>(255.0 / (high - low));
  const F lo = static_cast<F>(low);
  const idx ny = in.shape[1], nx = in.shape[2], plane = ny * nx;
  const idx rows = in.shape[0] * ny;
  {
    py::gil_scoped_release release;
#pragma omp parallel for schedule(dynamic, 16) if (rows * nx >= kParallelMin)
    for (idx r = 0; r < rows; ++r) {
      const idx z = r / ny, y = r % ny;
      const T* row = &in.at(z, y, 0);
      std::uint8_t* orow = o + z * plane + y * nx;
      const idx sx = in.stride[2];
      if (sx == 1) {
        window_row<T, F>(row, orow, nx, lo, scale);
      } else {
        std::vector<T> buf(static_cast<std::size_t>(nx));
        window_row<T, F>(in.contiguous_row(z, y, buf.data()), orow, nx, lo, scale);
      }
    }
  }
  return out;
}

// One contiguous row through the table, 8 voxels a step: two 8-byte loads, eight lookups
// and one 8-byte store take about half the instructions of a voxel-at-a-time loop. int16
// values become table keys by flipping the sign bit (v + 32768).
template <typename T>
void lut16_row(const T* __restrict row, std::uint8_t* __restrict orow, idx nx,
               const std::uint8_t* __restrict lut) {
  const std::uint64_t flip = std::is_signed<T>::value ? 0x8000800080008000ULL : 0;
  const std::uint16_t flip1 = std::is_signed<T>::value ? 0x8000 : 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  const idx n8 = nx - nx % 8;
#else
  const idx n8 = 0;  // the word trick below assumes little-endian byte order
#endif
  for (idx x = 0; x < n8; x += 8) {
    std::uint64_t w0, w1;
    std::memcpy(&w0, row + x, 8);
    std::memcpy(&w1, row + x + 4, 8);
    w0 ^= flip;
    w1 ^= flip;
    std::uint64_t r = 0;
    for (int i = 0; i < 4; ++i) {
      r |= static_cast<std::uint64_t>(lut[(w0 >> (16 * i)) & 0xffff]) << (8 * i);
      r |= static_cast<std::uint64_t>(lut[(w1 >> (16 * i)) & 0xffff]) << (8 * i + 32);
    }
    std::memcpy(orow + x, &r, 8);
  }
  for (idx x = n8; x < nx; ++x) {
    std::uint16_t key;
    std::memcpy(&key, row + x, 2);
    orow[x] = lut[static_cast<std::uint16_t>(key ^ flip1)];
  }
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
#pragma omp parallel for schedule(dynamic, 16) if (rows * nx >= kParallelMin)
    for (py::ssize_t r = 0; r < rows; ++r) {
      const py::ssize_t z = r / ny, y = r % ny;
      const T* row = &in.at(z, y, 0);
      std::uint8_t* orow = o + z * plane + y * nx;
      if (in.stride[2] == 1) {
        lut16_row<T>(row, orow, nx, lut.data());
      } else {
        std::vector<T> buf(static_cast<std::size_t>(nx));
        lut16_row<T>(in.contiguous_row(z, y, buf.data()), orow, nx, lut.data());
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

// A uint8 table copied to contiguous (N, C); indices past its end take its last entry.
struct Lut {
  std::vector<std::uint8_t> table;
  idx n = 0, channels = 1;
};

template <typename T>
py::array_t<std::uint8_t> apply_lut_impl(const py::array& image, const Lut& lut, bool rgb) {
  const View3<T> in = view3<T>(image, "apply_lut: image");
  const idx n = lut.n, channels = lut.channels;
  std::vector<idx> shape = shape_of(image);
  if (rgb) shape.push_back(channels);
  py::array_t<std::uint8_t> out(shape);
  std::uint8_t* o = out.mutable_data();
  const std::uint8_t* table = lut.table.data();
  const idx ny = in.shape[1], nx = in.shape[2], rows = in.shape[0] * ny;
  {
    py::gil_scoped_release release;
#pragma omp parallel for schedule(dynamic, 16) if (rows * nx >= kParallelMin)
    for (idx r = 0; r < rows; ++r) {
      const T* row = in.row(r / ny, r % ny);
      std::uint8_t* orow = o + r * nx * channels;
      const idx sx = in.stride[2];
      for (idx x = 0; x < nx; ++x) {
        const idx key = std::min<idx>(static_cast<idx>(row[x * sx]), n - 1);
        const std::uint8_t* entry = table + key * channels;
        for (idx c = 0; c < channels; ++c) orow[x * channels + c] = entry[c];
      }
    }
  }
  return out;
}

py::array_t<std::uint8_t> apply_lut(const py::array& image, const py::array& lut) {
  if (!is_dtype<std::uint8_t>(lut)) {
    throw py::type_error("apply_lut: lut must be a uint8 array, got " + dtype_name(lut));
  }
  if (lut.ndim() < 1 || lut.ndim() > 2 || lut.shape(0) < 1 ||
      (lut.ndim() == 2 && (lut.shape(1) < 1 || lut.shape(1) > 4))) {
    throw py::value_error("apply_lut: lut must have shape (N,) or (N, C) with N >= 1 and C <= 4, got " +
                          shape_str(lut));
  }
  Lut t;
  t.n = lut.shape(0);
  t.channels = lut.ndim() == 2 ? lut.shape(1) : 1;
  t.table.resize(static_cast<std::size_t>(t.n * t.channels));
  const auto* base = static_cast<const std::uint8_t*>(lut.data());
  const idx s0 = lut.strides(0), s1 = lut.ndim() == 2 ? lut.strides(1) : 0;
  for (idx i = 0; i < t.n; ++i)
    for (idx c = 0; c < t.channels; ++c) t.table[static_cast<std::size_t>(i * t.channels + c)] = base[i * s0 + c * s1];
  const bool rgb = lut.ndim() == 2;
  if (is_dtype<std::uint8_t>(image)) return apply_lut_impl<std::uint8_t>(image, t, rgb);
  if (is_dtype<std::uint16_t>(image)) return apply_lut_impl<std::uint16_t>(image, t, rgb);
  throw py::type_error("apply_lut: image must be uint8 or uint16, got " + dtype_name(image));
}

void register_window(py::module_& m) {
  m.def("window", &window, py::arg("volume"), py::arg("low"), py::arg("high"),
        "Map [low, high] linearly onto uint8 0..255, clamping outside.");
  m.def("apply_lut", &apply_lut, py::arg("image"), py::arg("lut"),
        "Look up every pixel of a uint8/uint16 image in a uint8 table of shape (N,) or (N, C).");
}

}  // namespace ndelab
