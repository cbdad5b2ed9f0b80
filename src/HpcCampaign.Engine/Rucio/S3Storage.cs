using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace HpcCampaign.Engine.Rucio;

/// <summary>
/// s3://host:port/bucket/key with AWSSDK.S3 (path style). Files up to 8 MiB go in one PUT (the ETag is then the
/// server's md5 of what it stored); larger ones in 8 MiB parts (more for files over 80 GB) read one after the other,
/// whose md5s give the multipart ETag the server must answer. Object PUTs are atomic, so like gfal.NoRename no
/// temporary name is used. TLS unless the protocol's extended_attributes say "secure": false.
/// </summary>
public sealed class S3Storage : IRucioStorage
{
    public const int PartSize = 8 << 20;
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

    /// <summary>Uploads the parts in order from one buffer; returns the ETag S3 must report: md5(part md5s)-N.</summary>
    private async Task<(string? ETag, string Expected)> PutMultipartAsync(Stream content, string bucket, string key, CancellationToken ct)
    {
        var partSize = (int)Math.Max(PartSize, (content.Length + 9_999) / 10_000 + (1 << 20) - 1 & ~((1L << 20) - 1));
        var upload = await _s3.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest { BucketName = bucket, Key = key }, ct).ConfigureAwait(false);
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(partSize);
        try
        {
            var parts = new List<PartETag>();
            using var md5OfMd5s = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.MD5);
            for (var number = 1; ; number++)
            {
                var n = await content.ReadAtLeastAsync(buffer.AsMemory(0, partSize), partSize, throwOnEndOfStream: false, ct).ConfigureAwait(false);
                if (n == 0) break;
                md5OfMd5s.AppendData(System.Security.Cryptography.MD5.HashData(buffer.AsSpan(0, n)));
                using var part = new MemoryStream(buffer, 0, n, writable: false);
                var response = await _s3.UploadPartAsync(new UploadPartRequest
                {
                    BucketName = bucket, Key = key, UploadId = upload.UploadId, PartNumber = number, InputStream = part, PartSize = n,
                }, ct).ConfigureAwait(false);
                parts.Add(new PartETag(number, response.ETag));
                if (n < partSize) break;
            }
            var done = await _s3.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
            {
                BucketName = bucket, Key = key, UploadId = upload.UploadId, PartETags = parts,
            }, ct).ConfigureAwait(false);
            return (done.ETag?.Trim('"').ToLowerInvariant(), Convert.ToHexString(md5OfMd5s.GetHashAndReset()).ToLowerInvariant() + "-" + parts.Count);
        }
        catch
        {
            try { await _s3.AbortMultipartUploadAsync(new AbortMultipartUploadRequest { BucketName = bucket, Key = key, UploadId = upload.UploadId }, CancellationToken.None).ConfigureAwait(false); }
            catch (AmazonServiceException) { }
            throw;
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
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
