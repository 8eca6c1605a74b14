// swift-tools-version: 6.1
// CLTrain: a training backend for deep LSTM models on OpenCL devices, with an OpenBLAS CPU backend
// as the reference. Layering, bottom to top:
//   COpenCL, CBLAS (C interop) → CLTrainKernels (OpenCL C sources, embedded) → CLTrain (runtime,
//   backends, verification) → CLTrainCommandLine (what both executables parse) → cltrain (CLI) and
//   cltrain-bench (Benchmarks/, microbenchmarks).
// The CMakeLists.txt files beside the sources are the CMake build of the same targets; SwiftPM
// targets exclude them.
import PackageDescription

let package = Package(
    name: "CLTrain",
    products: [
        .library(name: "CLTrain", targets: ["CLTrain"]),
        .executable(name: "cltrain", targets: ["cltrain"]),
        .executable(name: "cltrain-bench", targets: ["cltrain-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // 1.16.2: LogHandler.log(event:) (CommandLineLogging); the CMake build pins the same.
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        // The pipeline simulator's event queue (HeapModule).
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        // Tests only: property-based fuzzing of the checkpoint reader.
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
    ],
    targets: [
        // The OpenCL ICD loader and Khronos headers (ocl-icd-opencl-dev, opencl-headers).
        .systemLibrary(
            name: "COpenCL",
            pkgConfig: "OpenCL",
            providers: [.apt(["ocl-icd-opencl-dev", "opencl-headers"])]
        ),
        // CBLAS from OpenBLAS (libopenblas-dev); pkg-config finds its include folder.
        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        // Open MPI (libopenmpi-dev), for data parallelism across processes; its handles are macros,
        // re-exported as functions by the shim.
        .systemLibrary(
            name: "CMPI",
            pkgConfig: "ompi-c",
            providers: [.apt(["libopenmpi-dev"])]
        ),
        // The OpenCL C sources in Kernels/, compiled into the binary so a copied executable
        // still finds them. SwiftPM needs each file named here (CMake globs Kernels/*.cl): add a
        // new kernel file to this list and to KernelFamily.
        .target(
            name: "CLTrainKernels",
            path: "Kernels",
            exclude: ["README.md", "CMakeLists.txt"],
            resources: [
                .embedInCode("elementwise.cl"),
                .embedInCode("matmul.cl"),
                .embedInCode("matmul_tiled.cl"),
                .embedInCode("softmax.cl"),
                .embedInCode("lstm.cl"),
                .embedInCode("roofline.cl"),
            ]
        ),
        .target(
            name: "CLTrain",
            dependencies: [
                "COpenCL", "CBLAS", "CLTrainKernels",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HeapModule", package: "swift-collections"),
            ],
            exclude: ["CMakeLists.txt"]
        ),
        // MPI for CLTrain: the world, its collectives and their errors. A module of its own, so the
        // CLTrain library links no MPI; `cltrain` does.
        .target(
            name: "CLTrainMPI",
            dependencies: ["CMPI", "CLTrain"],
            exclude: ["CMakeLists.txt"]
        ),
        // What both executables parse: `--log-level` and device lists (ArgumentParser types, which
        // the library itself does not depend on).
        .target(
            name: "CLTrainCommandLine",
            dependencies: [
                "CLTrain",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["CMakeLists.txt"]
        ),
        .executableTarget(
            name: "cltrain",
            dependencies: [
                "CLTrain", "CLTrainMPI", "CLTrainCommandLine",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["CMakeLists.txt"]
        ),
        // The microbenchmarks, built by SwiftPM only (the CMake build leaves them out). COpenCL
        // and CBLAS: CLBlast is called on the backend's raw handles, OpenBLAS directly. The gemm
        // tuner and the roofline measurement live here, not in the library; the runtime pieces
        // they drive (programs, kernels, launches) are CLTrain's `package` declarations, visible
        // to this package's targets and to no client of the library. CLTrainKernels: roofline.cl.
        .executableTarget(
            name: "cltrain-bench",
            dependencies: [
                "CLTrain", "CLTrainKernels", "CLTrainCommandLine", "COpenCL", "CBLAS",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Benchmarks",
            exclude: ["pytorch-peer", "blas-compare"]   // the PyTorch peer and the BLAS comparison: Python scripts and runners
        ),
        .testTarget(
            name: "CLTrainTests",
            // cltrain-bench: its bench-only code (OperationCost) is tested here too.
            dependencies: ["CLTrain", "cltrain-bench", .product(name: "PropertyBased", package: "swift-property-based")],
            // The fixtures travel inside the test bundle (a copied bundle has no source tree): the
            // expected BLEU figures from sacreBLEU, with the case files' text, and the de-en sample.
            // The case files themselves are scripts/make-bleu-fixtures.sh's input.
            exclude: ["Fixtures/bleu"],
            resources: [
                .embedInCode("Fixtures/bleu-expected.json"),
                .embedInCode("Fixtures/trans-de-en-sample.txt"),
            ]
        ),
    ]
)
