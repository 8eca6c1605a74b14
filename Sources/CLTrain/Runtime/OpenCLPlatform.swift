import COpenCL

/// What one OpenCL device reports about itself: enough to list it, choose it and key caches by it.
public struct OpenCLDeviceDescription: Sendable, Hashable {
    /// Position in the process-wide enumeration (platforms in ICD order, devices in platform order);
    /// this is the index `cltrain devices` prints and `CLTRAIN_DEVICES` takes.
    public let index: Int
    public let platformName: String
    public let platformVersion: String
    public let name: String
    public let vendor: String
    public let driverVersion: String
    public let deviceVersion: String
    public let openCLCVersion: String
    public let computeUnits: Int
    public let globalMemoryBytes: UInt64
    /// CL_DEVICE_MAX_MEM_ALLOC_SIZE: the largest single buffer the device will allocate.
    public let maxAllocationBytes: UInt64
    public let localMemoryBytes: UInt64
    public let maxWorkGroupSize: Int
    public let isGPU: Bool

    /// The handle: valid for the life of the process (device ids of root devices are never released).
    nonisolated(unsafe) let id: cl_device_id
    nonisolated(unsafe) let platform: cl_platform_id

    public static func == (a: Self, b: Self) -> Bool { a.index == b.index && a.name == b.name }
    public func hash(into hasher: inout Hasher) { hasher.combine(index); hasher.combine(name) }
}

/// Enumerates every device of every OpenCL platform the ICD loader knows.
enum OpenCLPlatform {
    /// All devices, in a stable order. A machine without any OpenCL platform (no ICD installed,
    /// or `OCL_ICD_VENDORS` pointing at an empty folder) has none; that is not an error.
    static func enumerateDevices() throws(OpenCLError) -> [OpenCLDeviceDescription] {
        var platformCount: cl_uint = 0
        let status = clGetPlatformIDs(0, nil, &platformCount)
        if status == cltrain_CL_PLATFORM_NOT_FOUND_KHR { return [] }
        try checkCL(status, "clGetPlatformIDs")
        if platformCount == 0 { return [] }
        var platforms = [cl_platform_id?](repeating: nil, count: Int(platformCount))
        try checkCL(clGetPlatformIDs(platformCount, &platforms, nil), "clGetPlatformIDs")

        var devices: [OpenCLDeviceDescription] = []
        for case let platform? in platforms {
            let platformName = try platformString(platform, cl_platform_info(CL_PLATFORM_NAME), "CL_PLATFORM_NAME")
            let platformVersion = try platformString(platform, cl_platform_info(CL_PLATFORM_VERSION), "CL_PLATFORM_VERSION")
            var deviceCount: cl_uint = 0
            let found = clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), 0, nil, &deviceCount)
            if found == CL_DEVICE_NOT_FOUND { continue }
            try checkCL(found, "clGetDeviceIDs(\(platformName))")
            if deviceCount == 0 { continue }
            var ids = [cl_device_id?](repeating: nil, count: Int(deviceCount))
            try checkCL(clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), deviceCount, &ids, nil),
                        "clGetDeviceIDs(\(platformName))")
            for case let id? in ids {
                let type = try deviceValue(id, cl_device_info(CL_DEVICE_TYPE), "CL_DEVICE_TYPE", as: cl_device_type.self)
                devices.append(OpenCLDeviceDescription(
                    index: devices.count,
                    platformName: platformName,
                    platformVersion: platformVersion,
                    name: try deviceString(id, cl_device_info(CL_DEVICE_NAME), "CL_DEVICE_NAME"),
                    vendor: try deviceString(id, cl_device_info(CL_DEVICE_VENDOR), "CL_DEVICE_VENDOR"),
                    driverVersion: try deviceString(id, cl_device_info(CL_DRIVER_VERSION), "CL_DRIVER_VERSION"),
                    deviceVersion: try deviceString(id, cl_device_info(CL_DEVICE_VERSION), "CL_DEVICE_VERSION"),
                    openCLCVersion: try deviceString(id, cl_device_info(CL_DEVICE_OPENCL_C_VERSION), "CL_DEVICE_OPENCL_C_VERSION"),
                    computeUnits: Int(try deviceValue(id, cl_device_info(CL_DEVICE_MAX_COMPUTE_UNITS), "CL_DEVICE_MAX_COMPUTE_UNITS", as: cl_uint.self)),
                    globalMemoryBytes: try deviceValue(id, cl_device_info(CL_DEVICE_GLOBAL_MEM_SIZE), "CL_DEVICE_GLOBAL_MEM_SIZE", as: cl_ulong.self),
                    maxAllocationBytes: try deviceValue(id, cl_device_info(CL_DEVICE_MAX_MEM_ALLOC_SIZE), "CL_DEVICE_MAX_MEM_ALLOC_SIZE", as: cl_ulong.self),
                    localMemoryBytes: try deviceValue(id, cl_device_info(CL_DEVICE_LOCAL_MEM_SIZE), "CL_DEVICE_LOCAL_MEM_SIZE", as: cl_ulong.self),
                    maxWorkGroupSize: Int(try deviceValue(id, cl_device_info(CL_DEVICE_MAX_WORK_GROUP_SIZE), "CL_DEVICE_MAX_WORK_GROUP_SIZE", as: Int.self)),
                    isGPU: type & cl_device_type(CL_DEVICE_TYPE_GPU) != 0,
                    id: id,
                    platform: platform
                ))
            }
        }
        return devices
    }
}
