#ifndef CLTRAIN_CBLAS_SHIM_H
#define CLTRAIN_CBLAS_SHIM_H
#include <cblas.h>
#endif
