import CFuzzMain
import Foundation
import TandemFuzzing

/// Which parser this run fuzzes: `TANDEM_FUZZ_TARGET`, set by fuzz/run.
let target = ProcessInfo.processInfo.environment["TANDEM_FUZZ_TARGET"].flatMap(FuzzTarget.init(rawValue:))

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    target?.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

/// The entry point SwiftPM links as main: checks the target, then hands over to libFuzzer's driver.
@_cdecl("TandemFuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    guard target != nil else {
        let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
        let message = "TandemFuzz: set TANDEM_FUZZ_TARGET to one of: \(names) (fuzz/run does)\n"
        _ = message.withCString { write(2, $0, strlen($0)) }
        return 2
    }
    return tandem_fuzz_main(argc, argv)
}
