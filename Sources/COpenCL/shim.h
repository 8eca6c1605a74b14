#ifndef CLTRAIN_COPENCL_SHIM_H
#define CLTRAIN_COPENCL_SHIM_H
// Kernels are OpenCL C 1.2 (NVIDIA's driver reports 1.2), and the host API is held to 1.2 too, so
// that clCreateCommandQueue is the non-deprecated way to make a queue.
#define CL_TARGET_OPENCL_VERSION 120
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#include <CL/cl.h>

// Macros Swift cannot import, re-exported as constants.
static const cl_int cltrain_CL_PLATFORM_NOT_FOUND_KHR = -1001;
#endif
