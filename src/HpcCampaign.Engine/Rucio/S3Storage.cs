using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace HpcCampaign.Engine.Rucio;

/// <summary>
/// s3://host:port/bucket/key with AWSSDK.S3 (path style). Files up to 8 MiB go in one PUT (the ETag is then the
/// server's md5 of what it stored); larger ones in 8 MiB parts (more for files over 80 GB), read in order, up to 4
/// uploading at once, whose md5s give the multipart ETag the server must answer. Object PUTs are atomic, so like gfal.NoRename no
/// temporary name is used. TLS unless the protocol's extended_attributes say "secure": false.
/// </summary>
public sealed class S3Storage : IRucioStorage
{
    public const int PartSize = 8 << 20;
    /// <summary>Parts of one file uploading at once (memory: this many part buffers per worker).</summary>
    public const int PartsInFlight = 4;
    private readonly AmazonS3Client _s3;
    // what the server answered to the PUT (its md5 of what it stored) and what the multipart ETag must be
    private readonly Dictionary<string, (long Bytes, string? ETag, string? Expected)> _written = new();

    public S3Storage(RseProtocol protocol, StorageCredentials credentials)
    {
        var secure = protocol.ExtendedAttributes?["secure"]?.GetValue<bool>() ?? true;
        var port = protocol.Port == 0 ? "" : ":" + protocol.Port;
        var config = new AmazonS3Config
        {
            ServiceURL = $"{(secure ? "https" : "http")}://{protocol.Hostname}{port}",
            ForcePathStyle = true,
            AuthenticationRegion = protocol.ExtendedAttributes?["region"]?.GetValue<string>() ?? "us-east-1",
        };
        AWSCredentials creds = credentials.S3AccessKey is not null && credentials.S3SecretKey is not null
            ? new BasicAWSCredentials(credentials.S3AccessKey, credentials.S3SecretKey)
            : new AnonymousAWSCredentials();
        _s3 = new AmazonS3Client(creds, config);
    }

    public static (string Bucket, string Key) Split(string pfn)
    {
        var path = Uri.UnescapeDataString(new Uri(pfn).AbsolutePath).TrimStart('/');
        var slash = path.IndexOf('/');
        if (slash <= 0) throw new HpcException("InvalidPfn", HpcErrorKind.InvalidArgument, $"'{pfn}' has no bucket/key.", pfn);
        return (path[..slash], path[(slash + 1)..]);
    }

    public static string? Md5FromETag(string? etag)
    {
        var e = etag?.Trim('"');
        return e is { Length: 32 } && e.All(Uri.IsHexDigit) ? e.ToLowerInvariant() : null;
    }

    public async Task PutAsync(Stream content, string pfn, CancellationToken ct)
    {
        var (bucket, key) = Split(pfn);
        try
        {
            content.Position = 0;
            var length = content.Length;
            if (length <= PartSize)
            {
                var put = await _s3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = key, InputStream = content, AutoCloseStream = false }, ct).ConfigureAwait(false);
                _written[pfn] = (length, put.ETag?.Trim('"').ToLowerInvariant(), null);
            }
            else
            {
                var (etag, expected) = await PutMultipartAsync(content, bucket, key, ct).ConfigureAwait(false);
                _written[pfn] = (length, etag, expected);
            }
        }
        catch (AmazonS3Exception ex)
        {
            throw ex.StatusCode is System.Net.HttpStatusCode.Forbidden or System.Net.HttpStatusCode.Unauthorized
                ? new HpcException("StorageAccessDenied", HpcErrorKind.PermissionDenied, $"S3 refused the upload to {pfn}: {ex.ErrorCode} {ex.Message}", pfn, ex)
                : RucioStorage.StorageError(pfn, $"S3 PUT failed: {ex.ErrorCode} {ex.Message}", ex);
        }
        catch (AmazonServiceException ex)
        {
            throw RucioStorage.StorageError(pfn, "S3 PUT failed: " + ex.Message, ex);
        }
    }

    /// <summary>
    /// Reads the parts in order (so a hashing stream sees the file once, front to back) and keeps up to
    /// <see cref="PartsInFlight"/> of them uploading at once. Returns the server's ETag and the one it must be:
    /// md5(part md5s)-N.
    /// </summary>
    private async Task<(string? ETag, string Expected)> PutMultipartAsync(Stream content, string bucket, string key, CancellationToken ct)
    {
        var partSize = (int)Math.Max(PartSize, (content.Length + 9_999) / 10_000 + (1 << 20) - 1 & ~((1L << 20) - 1));
        var upload = await _s3.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest { BucketName = bucket, Key = key }, ct).ConfigureAwait(false);
        var inFlight = new Queue<(Task<UploadPartResponse> Task, byte[] Buffer, int Number)>();
        var parts = new List<PartETag>();
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(ct);
        try
        {
            using var md5OfMd5s = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.MD5);
            async Task CompleteOldest()
            {
                var (task, buffer, number) = inFlight.Dequeue();
                try { parts.Add(new PartETag(number, (await task.ConfigureAwait(false)).ETag)); }
                finally { System.Buffers.ArrayPool<byte>.Shared.Return(buffer); }
            }
            for (var number = 1; ; number++)
            {
                var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(partSize);
                var n = await content.ReadAtLeastAsync(buffer.AsMemory(0, partSize), partSize, throwOnEndOfStream: false, ct).ConfigureAwait(false);
                if (n == 0)
                {
                    System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
                    break;
                }
                md5OfMd5s.AppendData(System.Security.Cryptography.MD5.HashData(buffer.AsSpan(0, n)));
                var request = new UploadPartRequest
                {
                    BucketName = bucket, Key = key, UploadId = upload.UploadId, PartNumber = number,
                    InputStream = new MemoryStream(buffer, 0, n, writable: false), PartSize = n,
                };
                inFlight.Enqueue((_s3.UploadPartAsync(request, failed.Token), buffer, number));
                if (inFlight.Count >= PartsInFlight) await CompleteOldest().ConfigureAwait(false);
                if (n < partSize) break;
            }
            while (inFlight.Count > 0) await CompleteOldest().ConfigureAwait(false);
            var done = await _s3.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
            {
                BucketName = bucket, Key = key, UploadId = upload.UploadId, PartETags = parts,
            }, ct).ConfigureAwait(false);
            return (done.ETag?.Trim('"').ToLowerInvariant(), Convert.ToHexString(md5OfMd5s.GetHashAndReset()).ToLowerInvariant() + "-" + parts.Count);
        }
        catch
        {
            failed.Cancel();
            while (inFlight.Count > 0)
            {
                var (task, buffer, _) = inFlight.Dequeue();
                try { await task.ConfigureAwait(false); } catch (Exception) { }
                System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
            }
            try { await _s3.AbortMultipartUploadAsync(new AbortMultipartUploadRequest { BucketName = bucket, Key = key, UploadId = upload.UploadId }, CancellationToken.None).ConfigureAwait(false); }
            catch (AmazonServiceException) { }
            throw;
        }
    }

    /// <summary>
    /// Right after this worker's PUT, the server's answer to it is the stat (S3 is strongly consistent; a single-PUT
    /// ETag is the server's md5 of what it stored, a multipart one must equal the md5 of the part md5s): no extra
    /// HEAD per file. Otherwise HEAD.
    /// </summary>
    public async Task<RemoteStat?> StatAsync(string pfn, CancellationToken ct)
    {
        if (_written.Remove(pfn, out var w) && (w.Expected is not null ? w.ETag is not null : Md5FromETag(w.ETag) is not null))
            return new RemoteStat(w.Bytes, null, w.Expected is null ? Md5FromETag(w.ETag) : null) { ContentVerified = w.Expected is null ? null : w.Expected == w.ETag };
        var (bucket, key) = Split(pfn);
        try
        {
            var head = await _s3.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = bucket, Key = key }, ct).ConfigureAwait(false);
            var etag = head.ETag?.Trim('"').ToLowerInvariant();
            return new RemoteStat(head.ContentLength, null, Md5FromETag(etag));
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }
        catch (AmazonServiceException ex)
        {
            throw RucioStorage.StorageError(pfn, "S3 HEAD failed: " + ex.Message, ex);
        }
    }

    public void Dispose() => _s3.Dispose();
}
