using System.Security.Cryptography;

namespace HpcCampaign.Engine.Rucio;

/// <summary>
/// A read-only view of a file that computes adler32 and md5 of the bytes as a transfer reads them, so the upload
/// itself is the only read. A client that rewinds and reads again (an SDK retry) is fine: only bytes past the
/// furthest point read so far are hashed. Disposing it leaves the file open (HTTP content disposes its stream).
/// </summary>
public sealed class HashingReadStream : Stream
{
    private readonly FileStream _file;
    private readonly Adler32 _adler = new();
    private readonly IncrementalHash _md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
    private readonly bool _hashing;
    private long _hashed;
    private bool _gap;

    /// <param name="hashing">false: a plain non-closing view (the checksums are known already).</param>
    public HashingReadStream(FileStream file, bool hashing = true)
    {
        _file = file;
        _hashing = hashing;
    }

    public static FileStream OpenFile(string path) =>
        new(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan | FileOptions.Asynchronous);

    /// <summary>The checksums, when the whole file went through this stream in order; else null.</summary>
    public FileChecksums? Result()
    {
        if (!_hashing || _gap || _hashed != _file.Length) return null;
        return new FileChecksums(_hashed, _adler.Hex, Convert.ToHexString(_md5.GetCurrentHash()).ToLowerInvariant());
    }

    private void Hash(long position, ReadOnlySpan<byte> data)
    {
        if (!_hashing) return;
        if (position > _hashed) { _gap = true; return; }
        var skip = _hashed - position;
        if (skip >= data.Length) return;
        var fresh = data[(int)skip..];
        _adler.Append(fresh);
        _md5.AppendData(fresh);
        _hashed += fresh.Length;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var position = _file.Position;
        var n = _file.Read(buffer);
        Hash(position, buffer[..n]);
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) =>
        ReadAsync(buffer.AsMemory(offset, count), ct).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
    {
        var position = _file.Position;
        var n = await _file.ReadAsync(buffer, ct).ConfigureAwait(false);
        Hash(position, buffer.Span[..n]);
        return n;
    }

    public override bool CanRead => true;
    public override bool CanSeek => true;
    public override bool CanWrite => false;
    public override long Length => _file.Length;
    public override long Position { get => _file.Position; set => _file.Position = value; }
    public override long Seek(long offset, SeekOrigin origin) => _file.Seek(offset, origin);
    public override void Flush() { }
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    // Dispose leaves the file (and the hash state) alone: HttpContent and SDKs dispose their stream before the
    // owner has read Result(); the owner disposes the file.
}
