using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Amazon.S3.Transfer;

namespace HpcCampaign.Engine.Rucio;

/// <summary>
/// s3://host:port/bucket/key with AWSSDK.S3 (path style). One PUT per file below 5 GiB (the ETag is then the
/// server's md5 of what it stored, which the stat reports); multipart above. Object PUTs are atomic, so like
/// gfal.NoRename no temporary name is used. TLS unless the protocol's extended_attributes say "secure": false.
/// </summary>
public sealed class S3Storage : IRucioStorage
{
    private const long SinglePutLimit = 5L << 30;
    private readonly AmazonS3Client _s3;

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
            if (content.Length < SinglePutLimit)
            {
                await _s3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = key, InputStream = content, AutoCloseStream = false }, ct).ConfigureAwait(false);
            }
            else
            {
                using var transfer = new TransferUtility(_s3);
                await transfer.UploadAsync(new TransferUtilityUploadRequest { BucketName = bucket, Key = key, InputStream = content, AutoCloseStream = false }, ct).ConfigureAwait(false);
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

    public async Task<RemoteStat?> StatAsync(string pfn, CancellationToken ct)
    {
        var (bucket, key) = Split(pfn);
        try
        {
            var head = await _s3.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = bucket, Key = key }, ct).ConfigureAwait(false);
            return new RemoteStat(head.ContentLength, null, Md5FromETag(head.ETag));
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
