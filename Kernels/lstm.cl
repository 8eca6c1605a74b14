// lstm kernels
