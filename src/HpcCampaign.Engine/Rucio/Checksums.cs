using System.Security.Cryptography;

namespace HpcCampaign.Engine.Rucio;

/// <summary>Streaming Adler-32 (RFC 1950), seeded with 1 like zlib and Rucio.</summary>
public sealed class Adler32
{
    private const uint Mod = 65521;
    // largest n such that 255n(n+1)/2 + (n+1)(Mod-1) fits in 32 bits: the modulo can wait that long
    private const int MaxRun = 5552;
    private uint _a = 1, _b;

    public void Append(ReadOnlySpan<byte> data)
    {
        uint a = _a, b = _b;
        while (data.Length > 0)
        {
            var n = Math.Min(data.Length, MaxRun);
            foreach (var x in data[..n])
            {
                a += x;
                b += a;
            }
            a %= Mod;
            b %= Mod;
            data = data[n..];
        }
        _a = a;
        _b = b;
    }

    public uint Value => (_b << 16) | _a;

    /// <summary>8 lower-case hex digits, zero-padded (Rucio's form).</summary>
    public string Hex => Value.ToString("x8");

    public static string Of(ReadOnlySpan<byte> data)
    {
        var a = new Adler32();
        a.Append(data);
        return a.Hex;
    }

    /// <summary>Compares two adler32 strings the way Rucio does: leading zeros and case do not matter.</summary>
    public static bool Same(string? x, string? y) =>
        x is not null && y is not null &&
        string.Equals(x.TrimStart('0'), y.TrimStart('0'), StringComparison.OrdinalIgnoreCase);
}

/// <summary>Size, adler32 and md5 of a file, computed in one streamed read.</summary>
public sealed record FileChecksums(long Bytes, string Adler32, string Md5)
{
    public const int BlockSize = 1 << 20;

    public static async Task<FileChecksums> ComputeAsync(string path, CancellationToken ct)
    {
        await using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan | FileOptions.Asynchronous);
        return await ComputeAsync(fs, ct).ConfigureAwait(false);
    }

    public static async Task<FileChecksums> ComputeAsync(Stream stream, CancellationToken ct)
    {
        var adler = new Adler32();
        using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(BlockSize);
        long total = 0;
        try
        {
            int n;
            while ((n = await stream.ReadAsync(buffer.AsMemory(0, BlockSize), ct).ConfigureAwait(false)) > 0)
            {
                adler.Append(buffer.AsSpan(0, n));
                md5.AppendData(buffer, 0, n);
                total += n;
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
        return new FileChecksums(total, adler.Hex, Convert.ToHexString(md5.GetHashAndReset()).ToLowerInvariant());
    }
}
