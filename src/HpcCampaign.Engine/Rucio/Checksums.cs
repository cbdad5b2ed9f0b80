using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
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
        if (Ssse3.IsSupported && data.Length >= 64) data = data[AppendSsse3(data, ref a, ref b)..];
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

    private static readonly Vector128<sbyte> Taps1 = Vector128.Create((sbyte)32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17);
    private static readonly Vector128<sbyte> Taps2 = Vector128.Create((sbyte)16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1);

    /// <summary>
    /// 32 bytes per step with SSSE3: byte sums by SAD, position-weighted sums by multiply-add; the sums of a block of
    /// n steps are b += 32·n·a + Σ weighted + 32·Σ(running a), a += Σ bytes. Returns how many bytes it took (all but
    /// a tail under 32).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int AppendSsse3(ReadOnlySpan<byte> data, ref uint a, ref uint b)
    {
        const int step = 32;
        var steps = data.Length / step;
        var ones = Vector128.Create((short)1);
        ref var start = ref MemoryMarshal.GetReference(data);
        nuint offset = 0;
        while (steps > 0)
        {
            var n = Math.Min(steps, MaxRun / step);
            steps -= n;
            var prefix = Vector128.CreateScalar(a * (uint)n);   // a before the block counts once per step
            var vb = Vector128.CreateScalar(b);
            var va = Vector128<uint>.Zero;
            for (var i = 0; i < n; i++)
            {
                var x1 = Vector128.LoadUnsafe(ref start, offset);
                var x2 = Vector128.LoadUnsafe(ref start, offset + 16);
                prefix = Sse2.Add(prefix, va);
                va = Sse2.Add(va, Sse2.SumAbsoluteDifferences(x1, Vector128<byte>.Zero).AsUInt32());
                vb = Sse2.Add(vb, Sse2.MultiplyAddAdjacent(Ssse3.MultiplyAddAdjacent(x1, Taps1), ones).AsUInt32());
                va = Sse2.Add(va, Sse2.SumAbsoluteDifferences(x2, Vector128<byte>.Zero).AsUInt32());
                vb = Sse2.Add(vb, Sse2.MultiplyAddAdjacent(Ssse3.MultiplyAddAdjacent(x2, Taps2), ones).AsUInt32());
                offset += step;
            }
            vb = Sse2.Add(vb, Sse2.ShiftLeftLogical(prefix, 5));
            a = (a + Vector128.Sum(va)) % Mod;
            b = Vector128.Sum(vb) % Mod;
        }
        return (int)offset;
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
