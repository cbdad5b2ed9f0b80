using System.IO.Compression;
using System.Security.Cryptography;
using HpcCampaign.Engine.Crypto;

namespace HpcCampaign.Engine.Campaign;

/// <summary>An embedded file ready for the file table (spec §1.4).</summary>
public sealed class EncodedBlob
{
    public required string Name { get; init; }
    public required bool Compressed { get; init; }
    public required long LenOrig { get; init; }
    public required long LenCompressed { get; init; }
    public required long ModTime { get; init; }
    public required string Checksum { get; init; }
    public required byte[] Data { get; init; }
}

/// <summary>bytes → optional zlib stream (RFC 1950) → optional secretbox (nonce ‖ MAC ‖ ciphertext), and back.</summary>
public static class BlobCodec
{
    /// <summary>Encodes a file by streaming it (hash and compression in one pass; only the result is in memory).</summary>
    public static EncodedBlob EncodeFile(string sourcePath, string name, bool compress, byte[]? key, long modTime)
    {
        using var input = new FileStream(sourcePath, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0, FileOptions.SequentialScan);
        return EncodeStream(input, name, compress, key, modTime);
    }

    public static EncodedBlob EncodeBytes(ReadOnlySpan<byte> bytes, string name, bool compress, byte[]? key, long modTime)
    {
        var checksum = Convert.ToHexString(SHA1.HashData(bytes)).ToLowerInvariant();
        byte[] payload;
        if (compress)
        {
            var ms = new MemoryStream(bytes.Length / 2 + 64);
            using (var z = new ZLibStream(ms, CompressionLevel.Optimal, leaveOpen: true)) z.Write(bytes);
            payload = ms.ToArray();
        }
        else payload = bytes.ToArray();
        return Finish(name, compress, bytes.Length, payload, checksum, key, modTime);
    }

    public static EncodedBlob EncodeStream(Stream input, string name, bool compress, byte[]? key, long modTime)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
        var output = new MemoryStream(input.CanSeek ? (int)Math.Min(input.Length + 64, 1 << 20) : 4096);
        long total = 0;
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(81920);
        Stream sinkStream = compress ? new ZLibStream(output, CompressionLevel.Optimal, leaveOpen: true) : output;
        try
        {
            int n;
            while ((n = input.Read(buffer, 0, buffer.Length)) > 0)
            {
                sha.AppendData(buffer, 0, n);
                sinkStream.Write(buffer, 0, n);
                total += n;
            }
        }
        finally
        {
            if (compress) sinkStream.Dispose();
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
        var checksum = Convert.ToHexString(sha.GetHashAndReset()).ToLowerInvariant();
        return Finish(name, compress, total, output.ToArray(), checksum, key, modTime);
    }

    private static EncodedBlob Finish(string name, bool compress, long lenOrig, byte[] payload, string checksum, byte[]? key, long modTime) =>
        new()
        {
            Name = name,
            Compressed = compress,
            LenOrig = lenOrig,
            LenCompressed = payload.Length,
            ModTime = modTime,
            Checksum = checksum,
            Data = key is null ? payload : SodiumCrypto.Seal(payload, key),
        };

    /// <summary>
    /// Reverses the pipeline: open (if <paramref name="key"/>), inflate (if compressed), check lengths and SHA-1.
    /// Throws WrongKey, KeyRequired, CorruptBlob, ChecksumMismatch.
    /// </summary>
    public static byte[] Decode(byte[] stored, bool compressed, long lenOrig, long lenCompressed, string checksum,
        bool encrypted, byte[]? key, object? target)
    {
        byte[] payload = stored;
        if (encrypted)
        {
            if (key is null)
                throw new HpcException("KeyRequired", HpcErrorKind.AuthenticationError,
                    $"'{target}' is encrypted; give the key file with -Key.", target);
            payload = SodiumCrypto.Open(stored, key, target);
        }
        if (payload.Length != (compressed ? lenCompressed : lenOrig))
            throw new HpcException("CorruptBlob", HpcErrorKind.InvalidData,
                $"'{target}' has {payload.Length} bytes, the archive records {(compressed ? lenCompressed : lenOrig)}.", target);
        byte[] plain;
        if (compressed)
        {
            try
            {
                using var z = new ZLibStream(new MemoryStream(payload), CompressionMode.Decompress);
                var ms = new MemoryStream((int)Math.Min(lenOrig, int.MaxValue / 2));
                z.CopyTo(ms);
                plain = ms.ToArray();
            }
            catch (InvalidDataException ex)
            {
                throw new HpcException("CorruptBlob", HpcErrorKind.InvalidData, $"'{target}' is not a valid zlib stream: {ex.Message}", target, ex);
            }
        }
        else plain = payload;
        var sum = Convert.ToHexString(SHA1.HashData(plain)).ToLowerInvariant();
        if (plain.Length != lenOrig || !string.Equals(sum, checksum, StringComparison.OrdinalIgnoreCase))
            throw new HpcException("ChecksumMismatch", HpcErrorKind.InvalidData,
                $"'{target}' does not match its recorded SHA-1 {checksum} (got {sum}, {plain.Length} bytes).", target);
        return plain;
    }
}
