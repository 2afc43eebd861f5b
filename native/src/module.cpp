// The ndelab.native._core extension: one register_* function per kernel family.
#include "common.hpp"

namespace ndelab {
void register_window(py::module_& m);
void register_label(py::module_& m);
void register_edt(py::module_& m);
void register_morphology(py::module_& m);
void register_resample(py::module_& m);
void register_region(py::module_& m);
void register_extend(py::module_& m);
void register_rle(py::module_& m);
}  // namespace ndelab

PYBIND11_MODULE(_core, m) {
  m.doc() = "ndelab C++ volume kernels (use the typed facade ndelab.native)";
  ndelab::register_window(m);
  ndelab::register_label(m);
  ndelab::register_edt(m);
  ndelab::register_morphology(m);
  ndelab::register_resample(m);
  ndelab::register_region(m);
  ndelab::register_extend(m);
  ndelab::register_rle(m);
  m.def(
      "get_threads", [] { return ndelab::max_threads(); },
      "Threads the kernels use for large inputs.");
  m.def(
      "set_threads",
      [](int n) {
        if (n < 1) throw ndelab::py::value_error("set_threads: n must be >= 1");
#ifdef _OPENMP
        omp_set_num_threads(n);
#endif
      },
      ndelab::py::arg("n"), "Set the threads the kernels use (process-wide).");
}
