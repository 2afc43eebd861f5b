// Slice-to-slice mask overlap, and extension of a 2D mask into 3D under an intensity model
// (the "3D from one click" step after SAM has segmented one slice).
//
// The 2D mask's voxels give a mean and sigma; each further slice along the axis keeps the
// voxels within mean +- k*sigma that lie within `grow` pixels of the previous slice's mask and
// are 8-connected to its overlap with that mask. Propagation in each direction stops at
// max_extent slices, at the volume's end, or when the IoU with the previous slice falls
// below min_iou. The two directions run in parallel.
#include "common.hpp"

#include <cmath>

namespace ndelab {

namespace {

double iou_bytes(const std::uint8_t* a, const std::uint8_t* b, idx n) {
  std::int64_t inter = 0, uni = 0;
  for (idx i = 0; i < n; ++i) {
    const bool x = a[i] != 0, y = b[i] != 0;
    inter += x && y;
    uni += x || y;
  }
  return uni == 0 ? 1.0 : static_cast<double>(inter) / static_cast<double>(uni);
}

// Box dilation of a (h, w) 0/1 image by g pixels, separable.
void dilate2d(const std::vector<std::uint8_t>& in, idx h, idx w, int g,
              std::vector<std::uint8_t>& tmp, std::vector<std::uint8_t>& out) {
  for (idx y = 0; y < h; ++y) {
    for (idx x = 0; x < w; ++x) {
      std::uint8_t v = 0;
      for (idx d = std::max<idx>(0, x - g); d <= std::min(w - 1, x + g) && !v; ++d) v = in[y * w + d];
      tmp[y * w + x] = v;
    }
  }
  for (idx y = 0; y < h; ++y) {
    for (idx x = 0; x < w; ++x) {
      std::uint8_t v = 0;
      for (idx d = std::max<idx>(0, y - g); d <= std::min(h - 1, y + g) && !v; ++d) v = tmp[d * w + x];
      out[y * w + x] = v;
    }
  }
}

// Keep the 8-connected parts of `region` that touch `seed` (both (h, w) 0/1 images).
void keep_connected(std::vector<std::uint8_t>& region, const std::vector<std::uint8_t>& seed,
                    idx h, idx w, std::vector<std::int64_t>& stack) {
  std::vector<std::uint8_t> keep(region.size(), 0);
  stack.clear();
  for (idx i = 0; i < h * w; ++i) {
    if (region[i] && seed[i]) {
      keep[i] = 1;
      stack.push_back(i);
    }
  }
  while (!stack.empty()) {
    const std::int64_t p = stack.back();
    stack.pop_back();
    const idx y = p / w, x = p % w;
    for (int dy = -1; dy <= 1; ++dy)
      for (int dx = -1; dx <= 1; ++dx) {
        const idx qy = y + dy, qx = x + dx;
        if (qy < 0 || qx < 0 || qy >= h || qx >= w) continue;
        const idx q = qy * w + qx;
        if (region[q] && !keep[q]) {
          keep[q] = 1;
          stack.push_back(q);
        }
      }
  }
  region.swap(keep);
}

}  // namespace

double slice_iou(const py::array& a, const py::array& b) {
  const View3<std::uint8_t> va = mask_view(a, "slice_iou", "a");
  const View3<std::uint8_t> vb = mask_view(b, "slice_iou", "b");
  require_same_shape(a, b, "slice_iou");
  std::int64_t inter = 0, uni = 0;
  {
    py::gil_scoped_release release;
#pragma omp parallel for reduction(+ : inter, uni) schedule(static) if (va.size() >= kParallelMin)
    for (idx r = 0; r < va.rows(); ++r) {
      const std::uint8_t* ra = va.row(r / va.shape[1], r % va.shape[1]);
      const std::uint8_t* rb = vb.row(r / vb.shape[1], r % vb.shape[1]);
      for (idx x = 0; x < va.shape[2]; ++x) {
        const bool p = ra[x * va.stride[2]] != 0, q = rb[x * vb.stride[2]] != 0;
        inter += p && q;
        uni += p || q;
      }
    }
  }
  // Two empty masks are identical.
  return uni == 0 ? 1.0 : static_cast<double>(inter) / static_cast<double>(uni);
}

py::array extend_mask_3d(const py::array& volume, const py::array& mask2d, int axis, idx index,
                         double k_sigma, idx max_extent, double min_iou, int grow) {
  if (volume.ndim() != 3) {
    throw py::value_error("extend_mask_3d: volume must be 3D, got " +
                          std::to_string(volume.ndim()) + " dimensions");
  }
  if (axis < 0 || axis > 2) throw py::value_error("extend_mask_3d: axis must be 0, 1 or 2");
  if (index < 0 || index >= volume.shape(axis)) {
    throw py::value_error("extend_mask_3d: index " + std::to_string(index) +
                          " lies outside axis " + std::to_string(axis) + " of length " +
                          std::to_string(volume.shape(axis)));
  }
  if (k_sigma < 0.0 || max_extent < 0 || grow < 0) {
    throw py::value_error("extend_mask_3d: k_sigma, max_extent and grow must be >= 0");
  }
  const View3<std::uint8_t> m2 = mask_view(mask2d, "extend_mask_3d", "mask2d", 2);
  // The plane's two axes, in order.
  const int ax_a = axis == 0 ? 1 : 0, ax_b = axis == 2 ? 1 : 2;
  if (mask2d.ndim() != 2 || mask2d.shape(0) != volume.shape(ax_a) ||
      mask2d.shape(1) != volume.shape(ax_b)) {
    throw py::value_error("extend_mask_3d: mask2d has shape " + shape_str(mask2d) +
                          " but a slice along axis " + std::to_string(axis) + " has shape (" +
                          std::to_string(volume.shape(ax_a)) + ", " +
                          std::to_string(volume.shape(ax_b)) + ")");
  }
  const idx h = volume.shape(ax_a), w = volume.shape(ax_b), n_axis = volume.shape(axis);
  py::array out(py::dtype::of<bool>(), shape_of(volume));
  auto* o = static_cast<std::uint8_t*>(out.mutable_data());
  const idx ostride[3] = {volume.shape(1) * volume.shape(2), volume.shape(2), 1};
  dispatch_numeric(volume, "extend_mask_3d: volume", [&](auto tag) {
    using T = decltype(tag);
    const View3<T> v = view3<T>(volume, "extend_mask_3d: volume", 3);
    py::gil_scoped_release release;
    std::fill(o, o + v.size(), 0);
    auto val = [&](idx s, idx a, idx b) {
      return static_cast<double>(
          v.data[s * v.stride[axis] + a * v.stride[ax_a] + b * v.stride[ax_b]]);
    };
    auto put = [&](idx s, const std::vector<std::uint8_t>& img) {
      for (idx a = 0; a < h; ++a)
        for (idx b = 0; b < w; ++b)
          o[s * ostride[axis] + a * ostride[ax_a] + b * ostride[ax_b]] = img[a * w + b];
    };
    std::vector<std::uint8_t> first(static_cast<std::size_t>(h * w));
    double sum = 0.0, sq = 0.0, cnt = 0.0;
    for (idx a = 0; a < h; ++a)
      for (idx b = 0; b < w; ++b) {
        const std::uint8_t on = m2.at(0, a, b) != 0;
        first[a * w + b] = on;
        if (on) {
          const double x = val(index, a, b);
          sum += x;
          sq += x * x;
          cnt += 1.0;
        }
      }
    put(index, first);
    if (cnt == 0.0) return 0;
    const double mean = sum / cnt, sd = std::sqrt(std::max(0.0, sq / cnt - mean * mean));
    const double lo = mean - k_sigma * sd, hi = mean + k_sigma * sd;
#pragma omp parallel for schedule(static, 1) num_threads(2)
    for (int d = 0; d < 2; ++d) {
      const idx dir = d == 0 ? 1 : -1;
      std::vector<std::uint8_t> prev = first, allowed(first.size()), tmp(first.size()),
                                region(first.size());
      std::vector<std::int64_t> stack;
      for (idx step = 1; step <= max_extent; ++step) {
        const idx s = index + dir * step;
        if (s < 0 || s >= n_axis) break;
        dilate2d(prev, h, w, grow, tmp, allowed);
        for (idx a = 0; a < h; ++a)
          for (idx b = 0; b < w; ++b) {
            const double x = val(s, a, b);
            region[a * w + b] = allowed[a * w + b] && x >= lo && x <= hi;
          }
        keep_connected(region, prev, h, w, stack);
        if (iou_bytes(region.data(), prev.data(), h * w) < min_iou) break;
        bool any = false;
        for (std::uint8_t r : region) any = any || r;
        if (!any) break;
        put(s, region);  // the two directions write disjoint slices
        prev.swap(region);
      }
    }
    return 0;
  });
  return out;
}

void register_extend(py::module_& m) {
  m.def("slice_iou", &slice_iou, py::arg("a"), py::arg("b"),
        "Intersection over union of two masks of the same shape (1.0 when both are empty).");
  m.def("extend_mask_3d", &extend_mask_3d, py::arg("volume"), py::arg("mask2d"), py::arg("axis"),
        py::arg("index"), py::arg("k_sigma"), py::arg("max_extent"), py::arg("min_iou"),
        py::arg("grow"), "Extend a 2D mask on one slice into a 3D mask under an intensity model.");
}

}  // namespace ndelab
