import Foundation
import PoolSystem
import PoolWire
import Testing

/// A pipe whose ends are closed exactly once, when the test is done with them.
///
/// Closing a descriptor twice is not harmless while tests run in parallel: between the two
/// closes another test's `pipe()` may be handed the same number, and the second close then cuts
/// that test's pipe.
final class TestPipe: @unchecked Sendable {
    private(set) var readEnd: Int32
    private(set) var writeEnd: Int32
    init() {
        var fds: [Int32] = [0, 0]
        precondition(pipe(&fds) == 0)
        readEnd = fds[0]
        writeEnd = fds[1]
    }
    func closeWriteEnd() {
        if writeEnd >= 0 { close(writeEnd) }
        writeEnd = -1
    }
    func closeReadEnd() {
        if readEnd >= 0 { close(readEnd) }
        readEnd = -1
    }
    deinit {
        closeReadEnd()
        closeWriteEnd()
    }
}

@Suite struct FrameTests {
    @Test func framesOfEverySizeArriveWholeAndInOrder() throws {
        let pipe = TestPipe()
        let sizes = [0, 1, 4_000, 5_000, 300_000, 3]
        // The writer runs on its own thread: a 300 kB frame does not fit in the pipe.
        let writer = Thread {
            for (index, size) in sizes.enumerated() {
                let payload = [UInt8](repeating: UInt8(index), count: size)
                try! payload.withUnsafeBytes {
                    try FrameWriter.write(kind: UInt8(index), payload: $0, to: pipe.writeEnd)
                }
            }
            pipe.closeWriteEnd()
        }
        writer.start()
        let reader = FrameReader(descriptor: pipe.readEnd)
        for (index, size) in sizes.enumerated() {
            guard case .frame(let kind, let payload) = try reader.next(timeoutMilliseconds: 30_000) else {
                Issue.record("frame \(index) missing")
                return
            }
            #expect(kind == UInt8(index))
            #expect(payload.count == size)
            #expect(payload.allSatisfy { $0 == UInt8(index) })
        }
        guard case .endOfStream = try reader.next(timeoutMilliseconds: 30_000) else {
            Issue.record("expected the end of the stream")
            return
        }
    }

    @Test func endOfFileInsideAFrameIsUnexpectedEndThenEndOfStream() throws {
        let pipe = TestPipe()
        let frame: [UInt8] = [0x50, 0x57, 1, 0, 10, 0, 0, 0, 1, 2]  // announces 10 bytes, sends 2
        _ = frame.withUnsafeBytes { write(pipe.writeEnd, $0.baseAddress, $0.count) }
        pipe.closeWriteEnd()
        let reader = FrameReader(descriptor: pipe.readEnd)
        let error = try #require(throws: WireError.self) { try reader.next() }
        #expect(error.kind == .unexpectedEnd)
        #expect(error.offset == 10)
        #expect(error.description.contains("after 10 of 18 bytes of a frame"))
        // The partial frame is dropped: a caller that carries on sees the end of the stream.
        guard case .endOfStream = try reader.next() else {
            Issue.record("expected the end of the stream after the truncated frame")
            return
        }
    }

    @Test func aHeaderAnnouncingAGigabyteReservesOnlyWhatArrives() throws {
        let pipe = TestPipe()
        var bytes: [UInt8] = [0x50, 0x57, 1, 0, 0, 0, 0, 0x40]  // announces 1 GiB (the default maximum)
        bytes += [UInt8](repeating: 7, count: 100)
        _ = bytes.withUnsafeBytes { write(pipe.writeEnd, $0.baseAddress, $0.count) }
        pipe.closeWriteEnd()
        let reader = FrameReader(descriptor: pipe.readEnd)
        let error = try #require(throws: WireError.self) { try reader.next(timeoutMilliseconds: 30_000) }
        #expect(error.kind == .unexpectedEnd)
        #expect(error.description.contains("after 108 of 1073741832 bytes"))
        #expect(reader.bufferCapacity <= 1 << 20)
    }

    @Test func aFrameLargerThanTheFirstGrowthArrivesWholeInABoundedBuffer() throws {
        let pipe = TestPipe()
        let size = 3 << 20 + 5
        let writer = Thread {
            let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            try! payload.withUnsafeBytes { try FrameWriter.write(kind: 4, payload: $0, to: pipe.writeEnd) }
            pipe.closeWriteEnd()
        }
        writer.start()
        let reader = FrameReader(descriptor: pipe.readEnd)
        guard case .frame(let kind, let payload) = try reader.next(timeoutMilliseconds: 30_000) else {
            Issue.record("the large frame did not arrive")
            return
        }
        #expect(kind == 4)
        #expect(payload.count == size)
        #expect(payload.enumerated().allSatisfy { $0.element == UInt8(truncatingIfNeeded: $0.offset &* 7) })
        #expect(reader.bufferCapacity <= 2 * (size + FrameHeader.size))
        guard case .endOfStream = try reader.next(timeoutMilliseconds: 30_000) else {
            Issue.record("expected the end of the stream")
            return
        }
    }

    @Test func aDamagedHeaderOrAnOverlongFrameIsCorrupt() throws {
        let garbage = TestPipe()
        _ = "hello, world".withCString { write(garbage.writeEnd, $0, 12) }
        let damaged = try #require(throws: WireError.self) { try FrameReader(descriptor: garbage.readEnd).next() }
        #expect(damaged.kind == .corruptFrame)
        #expect(damaged.description.contains("magic"))

        let big = TestPipe()
        let header: [UInt8] = [0x50, 0x57, 1, 0, 0, 0, 1, 0]  // 65 536 bytes
        _ = header.withUnsafeBytes { write(big.writeEnd, $0.baseAddress, $0.count) }
        let overlong = try #require(throws: WireError.self) {
            try FrameReader(descriptor: big.readEnd, maximumPayload: 1_000).next()
        }
        #expect(overlong.kind == .corruptFrame)
        #expect(overlong.description.contains("maximum of 1000"))
    }

    @Test func aQuietStreamTimesOut() throws {
        let pipe = TestPipe()
        guard case .timedOut = try FrameReader(descriptor: pipe.readEnd).next(timeoutMilliseconds: 10) else {
            Issue.record("expected a timeout")
            return
        }
    }

    @Test func writingToAClosedReaderThrowsEPIPE() throws {
        signal(SIGPIPE, SIG_IGN)
        let pipe = TestPipe()
        pipe.closeReadEnd()
        let error = try #require(throws: SystemCallError.self) {
            try [UInt8](repeating: 0, count: 8).withUnsafeBytes {
                try FrameWriter.write(kind: 1, payload: $0, to: pipe.writeEnd)
            }
        }
        #expect(error.errno == EPIPE)
    }

    @Test func readingWithoutReadAheadLeavesLaterFramesInTheDescriptor() throws {
        let pipe = TestPipe()
        Descriptor.setNonBlocking(pipe.readEnd)
        let reader = FrameReader(descriptor: pipe.readEnd)
        reader.descriptorIsNonBlocking = true
        // Nothing there: an answer at once, not a wait.
        guard case .timedOut = try reader.nextWithoutReadingAhead(patienceMilliseconds: 1) else {
            Issue.record("an empty pipe gave a frame")
            return
        }
        for kind: UInt8 in [7, 8] {
            try [kind, kind, kind].withUnsafeBytes { try FrameWriter.write(kind: kind, payload: $0, to: pipe.writeEnd) }
        }
        guard case .frame(7, let payload) = try reader.nextWithoutReadingAhead(patienceMilliseconds: 1) else {
            Issue.record("the first frame did not come whole")
            return
        }
        #expect(Array(payload) == [7, 7, 7])
        // The second frame is still in the pipe, not in the first reader's buffer.
        #expect(!reader.hasBufferedFrame)
        let other = FrameReader(descriptor: pipe.readEnd)
        guard case .frame(8, let second) = try other.next(timeoutMilliseconds: 1000) else {
            Issue.record("the second frame was read ahead")
            return
        }
        #expect(Array(second) == [8, 8, 8])
    }

    @Test func aFrameBegunButNotFinishedStaysBufferedForTheNextRead() throws {
        let pipe = TestPipe()
        Descriptor.setNonBlocking(pipe.readEnd)
        let reader = FrameReader(descriptor: pipe.readEnd)
        reader.descriptorIsNonBlocking = true
        var header = [UInt8](repeating: 0, count: FrameHeader.size)
        header.withUnsafeMutableBytes { FrameHeader.write(kind: 9, payloadLength: 4, to: $0.baseAddress!) }
        let whole = header + [1, 2, 3, 4]
        _ = whole.prefix(FrameHeader.size + 1).withUnsafeBytes { write(pipe.writeEnd, $0.baseAddress, $0.count) }
        guard case .timedOut = try reader.nextWithoutReadingAhead(patienceMilliseconds: 1) else {
            Issue.record("a partial frame was returned")
            return
        }
        _ = whole.dropFirst(FrameHeader.size + 1).withUnsafeBytes { write(pipe.writeEnd, $0.baseAddress, $0.count) }
        guard case .frame(9, let payload) = try reader.next(timeoutMilliseconds: 1000) else {
            Issue.record("the frame did not complete")
            return
        }
        #expect(Array(payload) == [1, 2, 3, 4])
    }
}
