import Testing
@testable import CLTrain

/// The built-in table of KernelParameters.swift: a device's row is picked for that device (and
/// the chips it is declared to share), never for others; the tuner prints an entry in the table's
/// own Swift form.
struct KernelParametersTableTests {
    /// A device as the driver describes it: CL_DEVICE_VENDOR, CL_DEVICE_NAME, CL_DRIVER_VERSION.
    struct FakeDevice {
        let vendor, name, driver: String
    }

    static let hopper = TiledGemmParameters(mwg: 128, nwg: 128, kwg: 16, mdimc: 16, ndimc: 16, vwm: 4, vwn: 4,
                                            vwa: 4, vwb: 4, kwi: 2)
    static let nvidiaDefault = TiledGemmParameters(mwg: 64, nwg: 64, kwg: 16, mdimc: 8, ndimc: 8, vwm: 4, vwn: 4,
                                                   vwa: 4, vwb: 4, kwi: 2)

    /// The shape the tuner prints (see `entryLiteral` below), as a Hopper row would be pasted.
    static let table: [KernelParameters.VendorEntry] = [
        KernelParameters.VendorEntry(vendor: "nvidia", vendorDefault: KernelParameters(tiledGemm: nvidiaDefault), devices: [
            KernelParameters.DeviceRow("H200", alsoFor: ["H100"], KernelParameters(tiledGemm: hopper)),
        ]),
    ]

    func pick(_ device: FakeDevice, tuning: GemmTuningFile = GemmTuningFile()) -> (KernelParameters, KernelParameters.Source) {
        let picked = KernelParameters.forDevice(vendor: device.vendor, name: device.name, driverVersion: device.driver,
                                                tuning: tuning, table: Self.table)
        return (picked.parameters, picked.source)
    }

    @Test func theHopperRowIsPickedForHopperDevicesOnly() {
        for name in ["NVIDIA H200", "NVIDIA H100 80GB HBM3", "NVIDIA H200 NVL"] {
            let (parameters, source) = pick(FakeDevice(vendor: "NVIDIA Corporation", name: name, driver: "580.159.04"))
            #expect(parameters.tiledGemm == Self.hopper, "\(name)")
            #expect(source == .deviceRow("H200"), "\(name)")
        }
        // Another NVIDIA part: the vendor's default, not the Hopper row.
        let (ada, adaSource) = pick(FakeDevice(vendor: "NVIDIA Corporation", name: "NVIDIA GeForce RTX 4090", driver: "580"))
        #expect(ada.tiledGemm == Self.nvidiaDefault && adaSource == .vendorDefault("nvidia"))
        // Other vendors, PoCL on an AMD or Intel host included: the generic default.
        for device in [FakeDevice(vendor: "AuthenticAMD", name: "pthread-skylake-avx512-AMD EPYC", driver: "3.1+debian"),
                       FakeDevice(vendor: "GenuineIntel", name: "pthread-H200-lookalike", driver: "3.1"),
                       FakeDevice(vendor: "Advanced Micro Devices, Inc.", name: "gfx942", driver: "3635.0")] {
            let (parameters, source) = pick(device)
            #expect(parameters == KernelParameters() && source == .genericDefault, "\(device.name)")
        }
        // A tuning file's entry for this device and driver overrides the row; for another driver it does not.
        let tuned = GemmTuningFile(entries: [.init(deviceName: "NVIDIA H200", driverVersion: "580.159.04", platformName: "NVIDIA CUDA",
                                                   parameters: .generic, objective: "test", score: 1, shapes: [], date: "")])
        #expect(pick(FakeDevice(vendor: "NVIDIA Corporation", name: "NVIDIA H200", driver: "580.159.04"), tuning: tuned).1 == .tuningFile)
        #expect(pick(FakeDevice(vendor: "NVIDIA Corporation", name: "NVIDIA H200", driver: "590.1"), tuning: tuned).0.tiledGemm
                == Self.hopper)
    }

    @Test func theShippedTableHoldsMeasuredRowsOnly() {
        // No GPU session has tuned a device yet: every device gets the generic default. When the
        // Hopper row is added, this test changes with it (and the one above keeps its shape honest).
        #expect(KernelParameters.table.isEmpty)
        let (parameters, source) = KernelParameters.builtIn(vendor: "NVIDIA Corporation", name: "NVIDIA H200")
        #expect(parameters == KernelParameters() && source == .genericDefault)
    }

    @Test func theTunerPrintsAnEntryOfTheTablesShape() {
        let text = KernelParameters.tableEntryLiteral(vendor: "NVIDIA Corporation", deviceName: "NVIDIA H200", tiledGemm: Self.hopper)
        #expect(text == """
            VendorEntry(vendor: "nvidia", devices: [
                DeviceRow("NVIDIA H200", KernelParameters(tiledGemm: TiledGemmParameters(mwg: 128, nwg: 128, kwg: 16, mdimc: 16, ndimc: 16, vwm: 4, vwn: 4, vwa: 4, vwb: 4, kwi: 2))),
            ]),
            """)
        // The same text, pasted inside KernelParameters, builds this entry:
        let pasted = KernelParameters.VendorEntry(vendor: "nvidia", devices: [
            KernelParameters.DeviceRow("NVIDIA H200", KernelParameters(tiledGemm: TiledGemmParameters(mwg: 128, nwg: 128, kwg: 16, mdimc: 16, ndimc: 16, vwm: 4, vwn: 4, vwa: 4, vwb: 4, kwi: 2))),
        ])
        #expect(pasted.devices.first?.matches("NVIDIA H200") == true && pasted.devices.first?.parameters.tiledGemm == Self.hopper)
        #expect(KernelParameters.vendorKey("Intel(R) Corporation") == "intel(r)")
        #expect(KernelParameters.vendorKey("GenuineIntel") == "genuineintel")
        #expect(KernelParameters.tableEntryLiteral(vendor: "A \"quoted\" vendor", deviceName: "x\\y", tiledGemm: .generic)
            .contains(#"vendor: "a \"quoted\" vendor""#))
    }
}
