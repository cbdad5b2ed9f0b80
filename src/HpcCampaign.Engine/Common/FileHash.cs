using System.Buffers;
using System.Security.Cryptography;

namespace HpcCampaign.Engine.Common;

public static class FileHash
{
    /// <summary>SHA-512 and length of a file, read through a pooled buffer sized to the file (a fresh 1 MiB buffer per
    /// file would be a large-object allocation each time, and thousands of small files would force a full GC every few
    /// dozen). Other writers may keep the file open.</summary>
    public static async Task<(byte[] Hash, long Length)> Sha512Async(string path, long sizeHint, CancellationToken ct)
    {
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Clamp(sizeHint + 1, 4096, 1 << 20));
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1);
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA512);
            long length = 0;
            int n;
            while ((n = await stream.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
            {
                hash.AppendData(buffer, 0, n);
                length += n;
            }
            return (hash.GetHashAndReset(), length);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
