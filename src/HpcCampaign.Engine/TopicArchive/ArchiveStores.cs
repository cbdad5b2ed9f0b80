using System.Net;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using HpcCampaign.Engine.Common;

namespace HpcCampaign.Engine.TopicArchive;

/// <summary>Where the BSON objects live: an S3 bucket or a local folder. Writes are idempotent (same key, same bytes).</summary>
public interface IArchiveStore : IDisposable
{
    /// <summary>Bucket name (S3) or folder (local); recorded in the index's bucket column.</summary>
    string Location { get; }
    Task PutAsync(string key, byte[] data, CancellationToken ct);
    /// <summary>Null when the object does not exist.</summary>
    Task<byte[]?> GetAsync(string key, CancellationToken ct);
    /// <summary>Null when the object does not exist.</summary>
    Task<long?> SizeAsync(string key, CancellationToken ct);
    IAsyncEnumerable<(string Key, long Size)> ListAsync(string prefix, CancellationToken ct);
    /// <summary>Makes every object written so far durable; called before a batch is indexed.</summary>
    Task FlushAsync(CancellationToken ct);
    /// <summary>Deletes the object (every version on a versioned bucket). True when something was deleted.</summary>
    Task<bool> DeleteAsync(string key, CancellationToken ct);
}

/// <summary>A folder: key segments become sub-folders; each object is written to a temp file, flushed and renamed.</summary>
public sealed class FolderStore : IArchiveStore
{
    private readonly string _root;

    public FolderStore(string root)
    {
        _root = Path.GetFullPath(root);
        Directory.CreateDirectory(_root);
    }

    public string Location => _root;

    private string PathOf(string key)
    {
        var full = Path.GetFullPath(Path.Combine(_root, key));
        if (!full.StartsWith(_root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new HpcException("InvalidObjectKey", HpcErrorKind.InvalidArgument, $"Object key '{key}' leaves the store folder.", key);
        return full;
    }

    /// <summary>
    /// Temp file + rename, so a reader never sees half an object. On Linux the data is made durable for the whole
    /// batch by one syncfs() in <see cref="FlushAsync"/> instead of one fsync per object (the archiver's throughput is
    /// bound by those); elsewhere each file is flushed to disk before the rename.
    /// </summary>
    public Task PutAsync(string key, byte[] data, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        var path = PathOf(key);
        var dir = Path.GetDirectoryName(path)!;
        var tmp = Path.Combine(dir, $".{Path.GetFileName(path)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            Directory.CreateDirectory(dir);
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1))
            {
                fs.Write(data, 0, data.Length);
                if (!OperatingSystem.IsLinux()) fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, path, overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            AtomicFile.TryDelete(tmp);
            throw new HpcException("StoreUnavailable", HpcErrorKind.ResourceUnavailable, $"Cannot write '{key}' to {_root}: {ex.Message}", key, ex);
        }
        return Task.CompletedTask;
    }

    public Task FlushAsync(CancellationToken ct)
    {
        if (!OperatingSystem.IsLinux()) return Task.CompletedTask;
        var fd = LinuxSync.open(_root, 0);
        if (fd < 0) { LinuxSync.sync(); return Task.CompletedTask; }
        try
        {
            if (LinuxSync.syncfs(fd) != 0)
                throw new HpcException("StoreUnavailable", HpcErrorKind.ResourceUnavailable,
                    $"syncfs on {_root} failed (errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}).", _root);
        }
        finally { LinuxSync.close(fd); }
        return Task.CompletedTask;
    }

    public async Task<byte[]?> GetAsync(string key, CancellationToken ct)
    {
        var p = PathOf(key);
        if (!File.Exists(p)) return null;
        return await File.ReadAllBytesAsync(p, ct).ConfigureAwait(false);
    }

    public Task<long?> SizeAsync(string key, CancellationToken ct)
    {
        var fi = new FileInfo(PathOf(key));
        return Task.FromResult<long?>(fi.Exists ? fi.Length : null);
    }

    public async IAsyncEnumerable<(string Key, long Size)> ListAsync(string prefix, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        await Task.Yield();
        if (!Directory.Exists(_root)) yield break;
        foreach (var f in Directory.EnumerateFiles(_root, "*.bson", SearchOption.AllDirectories))
        {
            ct.ThrowIfCancellationRequested();
            var key = Path.GetRelativePath(_root, f).Replace(Path.DirectorySeparatorChar, '/');
            if (key.StartsWith(prefix, StringComparison.Ordinal)) yield return (key, new FileInfo(f).Length);
        }
    }

    public Task<bool> DeleteAsync(string key, CancellationToken ct)
    {
        var p = PathOf(key);
        if (!File.Exists(p)) return Task.FromResult(false);
        File.Delete(p);
        return Task.FromResult(true);
    }

    public void Dispose() { }
}

/// <summary>An S3 bucket (AWS or any S3-compatible endpoint with path-style addressing). Created when missing.</summary>
public sealed class S3Store : IArchiveStore
{
    private readonly AmazonS3Client _client;
    private readonly string _bucket;
    private readonly SemaphoreSlim _ensure = new(1, 1);
    private bool _bucketReady;

    public S3Store(string bucket, string? endpoint, string? accessKey, string? secretKey, string region = "us-west-2")
    {
        _bucket = bucket;
        var config = new AmazonS3Config { ForcePathStyle = endpoint is not null, MaxErrorRetry = 2, Timeout = TimeSpan.FromSeconds(60) };
        if (endpoint is not null) config.ServiceURL = endpoint;
        else config.RegionEndpoint = Amazon.RegionEndpoint.GetBySystemName(region);
        if (endpoint is not null) config.AuthenticationRegion = region;
        _client = accessKey is not null
            ? new AmazonS3Client(new BasicAWSCredentials(accessKey, secretKey ?? ""), config)
            : endpoint is not null ? new AmazonS3Client(new AnonymousAWSCredentials(), config) : new AmazonS3Client(config);
    }

    public string Location => _bucket;

    private async Task EnsureBucketAsync(CancellationToken ct)
    {
        if (_bucketReady) return;
        await _ensure.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_bucketReady) return;
            try { await _client.PutBucketAsync(new PutBucketRequest { BucketName = _bucket }, ct).ConfigureAwait(false); }
            catch (AmazonS3Exception ex) when (ex.ErrorCode is "BucketAlreadyOwnedByYou" or "BucketAlreadyExists") { }
            _bucketReady = true;
        }
        finally { _ensure.Release(); }
    }

    private HpcException Unavailable(string key, Exception ex) =>
        new("StoreUnavailable", HpcErrorKind.ResourceUnavailable, $"S3 bucket '{_bucket}': {ex.Message}", key, ex);

    public async Task PutAsync(string key, byte[] data, CancellationToken ct)
    {
        try
        {
            await EnsureBucketAsync(ct).ConfigureAwait(false);
            using var body = new MemoryStream(data, writable: false);
            await _client.PutObjectAsync(new PutObjectRequest { BucketName = _bucket, Key = key, InputStream = body, ContentType = "application/bson", AutoCloseStream = false }, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is AmazonServiceException or HttpRequestException or IOException or AmazonClientException || (ex is TaskCanceledException && !ct.IsCancellationRequested))
        {
            throw Unavailable(key, ex);
        }
    }

    public async Task<byte[]?> GetAsync(string key, CancellationToken ct)
    {
        try
        {
            using var r = await _client.GetObjectAsync(_bucket, key, ct).ConfigureAwait(false);
            using var ms = new MemoryStream();
            await r.ResponseStream.CopyToAsync(ms, ct).ConfigureAwait(false);
            return ms.ToArray();
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound) { return null; }
        catch (Exception ex) when (ex is AmazonServiceException or HttpRequestException or AmazonClientException) { throw Unavailable(key, ex); }
    }

    public async Task<long?> SizeAsync(string key, CancellationToken ct)
    {
        try
        {
            var r = await _client.GetObjectMetadataAsync(_bucket, key, ct).ConfigureAwait(false);
            return r.ContentLength;
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound) { return null; }
        catch (Exception ex) when (ex is AmazonServiceException or HttpRequestException or AmazonClientException) { throw Unavailable(key, ex); }
    }

    public async IAsyncEnumerable<(string Key, long Size)> ListAsync(string prefix, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        await EnsureBucketAsync(ct).ConfigureAwait(false);
        string? token = null;
        do
        {
            var r = await _client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = _bucket, Prefix = prefix, ContinuationToken = token }, ct).ConfigureAwait(false);
            foreach (var o in r.S3Objects ?? new List<S3Object>())
                if (o.Key.EndsWith(".bson", StringComparison.Ordinal)) yield return (o.Key, o.Size ?? 0);
            token = r.IsTruncated == true ? r.NextContinuationToken : null;
        } while (token is not null);
    }

    public Task FlushAsync(CancellationToken ct) => Task.CompletedTask;   // a successful PUT is durable

    public async Task<bool> DeleteAsync(string key, CancellationToken ct)
    {
        var existed = await SizeAsync(key, ct).ConfigureAwait(false) is not null;
        try
        {
            // a versioned bucket keeps old versions after a plain delete: remove each one (spec §6 clean_tests)
            var versions = await _client.ListVersionsAsync(new ListVersionsRequest { BucketName = _bucket, Prefix = key }, ct).ConfigureAwait(false);
            foreach (var v in versions.Versions ?? new List<S3ObjectVersion>())
                if (v.Key == key && !string.IsNullOrEmpty(v.VersionId) && v.VersionId != "null")
                    await _client.DeleteObjectAsync(new DeleteObjectRequest { BucketName = _bucket, Key = key, VersionId = v.VersionId }, ct).ConfigureAwait(false);
        }
        catch (AmazonS3Exception) { /* servers without versioning support: the plain delete below is all there is */ }
        await _client.DeleteObjectAsync(_bucket, key, ct).ConfigureAwait(false);
        return existed;
    }

    public void Dispose()
    {
        _client.Dispose();
        _ensure.Dispose();
    }
}

internal static class LinuxSync
{
    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    internal static extern int open(string path, int flags);

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    internal static extern int syncfs(int fd);

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    internal static extern int close(int fd);

    [System.Runtime.InteropServices.DllImport("libc")]
    internal static extern void sync();
}
