import COpenCL
import Foundation

// Typed readers for clGetPlatformInfo / clGetDeviceInfo, which report sizes first and values second.

func platformString(_ platform: cl_platform_id, _ param: cl_platform_info, _ name: String) throws(OpenCLError) -> String {
    var size = 0
    try checkCL(clGetPlatformInfo(platform, param, 0, nil, &size), "clGetPlatformInfo(\(name))")
    var bytes = [CChar](repeating: 0, count: max(size, 1))
    try checkCL(clGetPlatformInfo(platform, param, size, &bytes, nil), "clGetPlatformInfo(\(name))")
    return cString(bytes)
}

func deviceString(_ device: cl_device_id, _ param: cl_device_info, _ name: String) throws(OpenCLError) -> String {
    var size = 0
    try checkCL(clGetDeviceInfo(device, param, 0, nil, &size), "clGetDeviceInfo(\(name))")
    var bytes = [CChar](repeating: 0, count: max(size, 1))
    try checkCL(clGetDeviceInfo(device, param, size, &bytes, nil), "clGetDeviceInfo(\(name))")
    return cString(bytes)
}

func deviceValue<T: BinaryInteger>(_ device: cl_device_id, _ param: cl_device_info, _ name: String, as: T.Type) throws(OpenCLError) -> T {
    var value: T = 0
    let status = withUnsafeMutableBytes(of: &value) { clGetDeviceInfo(device, param, $0.count, $0.baseAddress, nil) }
    try checkCL(status, "clGetDeviceInfo(\(name))")
    return value
}

private func cString(_ bytes: [CChar]) -> String {
    let end = bytes.firstIndex(of: 0) ?? bytes.endIndex
    let text = String(decoding: bytes[..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return text.trimmingCharacters(in: .whitespacesAndNewlines)
}
