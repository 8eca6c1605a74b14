#ifndef CLTRAIN_CMPI_SHIM_H
#define CLTRAIN_CMPI_SHIM_H
// Open MPI's C API (libopenmpi-dev). Its predefined handles -- MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM,
// MPI_REQUEST_NULL, ... -- are macros over the addresses of library globals
// (`OMPI_PREDEFINED_GLOBAL(MPI_Comm, ompi_mpi_comm_world)`), and MPI_IN_PLACE and
// MPI_STATUS_IGNORE are casts of integers to pointers: Swift imports none of them, so they are
// re-exported here as functions.
#include <mpi.h>

static inline MPI_Comm cltrain_MPI_COMM_WORLD(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype cltrain_MPI_FLOAT(void) { return MPI_FLOAT; }
static inline MPI_Datatype cltrain_MPI_DOUBLE(void) { return MPI_DOUBLE; }
static inline MPI_Datatype cltrain_MPI_UINT64_T(void) { return MPI_UINT64_T; }
static inline MPI_Datatype cltrain_MPI_BYTE(void) { return MPI_BYTE; }
static inline MPI_Op cltrain_MPI_SUM(void) { return MPI_SUM; }
static inline MPI_Op cltrain_MPI_MAX(void) { return MPI_MAX; }
static inline MPI_Op cltrain_MPI_MIN(void) { return MPI_MIN; }
static inline MPI_Request cltrain_MPI_REQUEST_NULL(void) { return MPI_REQUEST_NULL; }
static inline MPI_Errhandler cltrain_MPI_ERRORS_RETURN(void) { return MPI_ERRORS_RETURN; }
static inline MPI_Info cltrain_MPI_INFO_NULL(void) { return MPI_INFO_NULL; }
static inline void *cltrain_MPI_IN_PLACE(void) { return MPI_IN_PLACE; }
static inline MPI_Status *cltrain_MPI_STATUS_IGNORE(void) { return MPI_STATUS_IGNORE; }

// Plain integer constants Swift does import, kept beside the rest so callers use one spelling.
static const int cltrain_MPI_SUCCESS = MPI_SUCCESS;
static const int cltrain_MPI_THREAD_FUNNELED = MPI_THREAD_FUNNELED;
static const int cltrain_MPI_THREAD_SERIALIZED = MPI_THREAD_SERIALIZED;
static const int cltrain_MPI_THREAD_MULTIPLE = MPI_THREAD_MULTIPLE;
static const int cltrain_MPI_MAX_ERROR_STRING = MPI_MAX_ERROR_STRING;
static const int cltrain_MPI_MAX_PROCESSOR_NAME = MPI_MAX_PROCESSOR_NAME;
#endif
