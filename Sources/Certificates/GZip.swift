import CompressNIO
import NIOCore

/// GZIP (RFC 1952) over zlib, by way of CompressNIO, with an inflater that never holds more than a set number of
/// bytes: a small input that would inflate to gigabytes (a decompression bomb) is refused part way.
enum GZip {
    /// Compresses bytes as one GZIP member (zlib's default level; no file name, modification time 0, so the same
    /// bytes always give the same output).
    /// - Parameter bytes: the bytes.
    /// - Returns: the GZIP bytes.
    /// - Throws: ``BitstringStatusListError`` `.compressionFailed` (zlib ran out of memory).
    static func compress(_ bytes: [UInt8]) throws(BitstringStatusListError) -> [UInt8] {
        var input = ByteBuffer(bytes: bytes)
        do {
            let output = try input.compress(with: .gzip())
            return Array(output.readableBytesView)
        } catch {
            throw BitstringStatusListError(.compressionFailed, "GZIP compression failed: \(error)")
        }
    }

    /// How much is inflated at a time.
    static let chunkBytes = 64 * 1024

    /// Inflates one GZIP member, refusing it as soon as its output would pass `maximumBytes`.
    ///
    /// Output is produced ``chunkBytes`` at a time and counted as it comes, so a bomb costs at most `maximumBytes`
    /// (plus one chunk) of memory and the time to inflate that much. A member whose trailer itself says it is
    /// larger (its size field, the length modulo 2³²) is refused before anything is inflated.
    ///
    /// CompressNIO's own `ByteBuffer.decompress(with:maxSize:)` does not do for this: its limit is not a bound (its
    /// buffers are asked for in steps that ByteBuffer rounds up to a power of two, and zlib fills them whole: with a
    /// 1 MiB limit it returns 1.25 MiB), and a member cut short comes back as what was inflated so far, without an
    /// error (its CRC-32 and length never checked). `decompressStream(with:window:process:)` never returns when bytes
    /// follow the member. So the loop is here, over its `ZlibDecompressor`.
    /// - Parameters:
    ///   - compressed: the GZIP bytes.
    ///   - maximumBytes: the most output accepted.
    ///   - progress: told the number of bytes inflated so far after each chunk (for tests).
    /// - Returns: the inflated bytes.
    /// - Throws: ``BitstringStatusListError``: `.tooLarge`, or `.notGzip` for anything that is not one whole,
    ///   intact GZIP member (a bad header, corrupt data, a wrong checksum, missing bytes, bytes after its end).
    static func inflate(
        _ compressed: [UInt8], maximumBytes: Int, progress: (Int) -> Void = { _ in }
    ) throws(BitstringStatusListError) -> [UInt8] {
        guard compressed.count >= 18, compressed[0] == 0x1F, compressed[1] == 0x8B else {
            throw BitstringStatusListError(.notGzip, "the list is not GZIP data (no GZIP header)")
        }
        let trailer = compressed.suffix(4).reversed().reduce(0) { $0 << 8 | Int($1) }
        guard trailer <= maximumBytes else {
            throw BitstringStatusListError(
                .tooLarge,
                "the GZIP data says it inflates to \(trailer) bytes, more than the \(maximumBytes) allowed (a "
                    + "decompression bomb?); nothing was inflated")
        }
        let decompressor: ZlibDecompressor
        do {
            decompressor = try ZlibDecompressor(algorithm: .gzip)
        } catch {
            throw BitstringStatusListError(.notGzip, "the GZIP inflater could not start: \(error)")
        }
        var input = ByteBuffer(bytes: compressed)
        var chunk = ByteBufferAllocator().buffer(capacity: chunkBytes)
        var output: [UInt8] = []
        // The trailer is only a claim: room for it is made up to 1 MiB, the rest as the output actually comes.
        output.reserveCapacity(min(trailer, 1 << 20))
        while true {
            chunk.clear()
            let inputBefore = input.readableBytes
            var outputFull = false
            var needsInput = false
            do {
                try decompressor.inflate(from: &input, to: &chunk)
            } catch let error as CompressNIOError where error == .bufferOverflow {
                outputFull = true
            } catch let error as CompressNIOError where error == .inputBufferOverflow {
                needsInput = true
            } catch {
                throw BitstringStatusListError(.notGzip, "the GZIP data is corrupt (\(error))")
            }
            let produced = chunk.readableBytes
            guard output.count + produced <= maximumBytes else { throw tooLarge(maximumBytes) }
            output.append(contentsOf: chunk.readableBytesView)
            progress(output.count)
            if outputFull { continue }
            if needsInput {
                throw BitstringStatusListError(.notGzip, "the GZIP data stops before its end (it was cut short)")
            }
            // No error: the member ended, or all the input was read with room to spare. Bytes left over follow the
            // end; no input and no output on a call means zlib reported the end itself; otherwise ask once more.
            guard input.readableBytes == 0 else {
                throw BitstringStatusListError(.notGzip, "bytes follow the end of the GZIP data")
            }
            if inputBefore == 0 && produced == 0 { return output }
        }
    }

    /// The refusal of a list that would inflate beyond the limit.
    static func tooLarge(_ maximumBytes: Int) -> BitstringStatusListError {
        BitstringStatusListError(
            .tooLarge,
            "the list inflates to more than the \(maximumBytes) bytes allowed (a decompression bomb?); it was not "
                + "inflated further")
    }
}
