using System.Net;
using System.Net.Http.Headers;

namespace HpcCampaign.Engine.Rucio;

/// <summary>What a storage reports about a stored file. Checksums are null when the protocol cannot tell.</summary>
public sealed record RemoteStat(long Bytes, string? Adler32, string? Md5)
{
    /// <summary>
    /// The storage's own proof that it holds what was sent, when it has no whole-file checksum (an S3 multipart
    /// ETag equal to the one computed from the parts sent): true, false, or null when it cannot tell.
    /// </summary>
    public bool? ContentVerified { get; init; }
}

/// <summary>
/// One storage protocol of an RSE (spec §2.8), owned by one worker so that its connection is reused for every file
/// the worker sends. Put writes the whole file under the final PFN (through a temporary name where the protocol
/// can rename); Stat is what the upload is verified against.
/// </summary>
public interface IRucioStorage : IDisposable
{
    /// <summary>Writes <paramref name="content"/> (positioned at 0; may be read again from 0 on a retry) to the PFN.</summary>
    Task PutAsync(Stream content, string pfn, CancellationToken ct);
    /// <summary>Null when nothing is stored under the PFN.</summary>
    Task<RemoteStat?> StatAsync(string pfn, CancellationToken ct);
}

/// <summary>Secrets and trust for the storage itself (Rucio leaves these to gfal2): [storage] in rucio.cfg, then the environment.</summary>
public sealed record StorageCredentials(string? S3AccessKey, string? S3SecretKey, string? SshUser, string? SshKeyFile, string? SshKnownHosts)
{
    public static StorageCredentials From(RucioConfig config)
    {
        string? Env(string n) => Environment.GetEnvironmentVariable(n) is { Length: > 0 } v ? v : null;
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return new StorageCredentials(
            config.Get("storage", "s3_access_key") ?? Env("AWS_ACCESS_KEY_ID"),
            config.Get("storage", "s3_secret_key") ?? Env("AWS_SECRET_ACCESS_KEY"),
            config.Get("storage", "ssh_user") ?? Environment.UserName,
            config.Get("storage", "ssh_private_key") ?? config.Get("client", "ssh_private_key") ?? Path.Combine(home, ".ssh", "id_ed25519"),
            config.Get("storage", "ssh_known_hosts") ?? Path.Combine(home, ".ssh", "known_hosts"));
    }
}

public static class RucioStorage
{
    /// <summary>The storage for a protocol entry; presigned HTTPS when the RSE says sign_url.</summary>
    public static IRucioStorage Create(RseProtocol protocol, RseInfo rse, RucioRestClient? client, StorageCredentials credentials)
    {
        var scheme = protocol.Scheme.ToLowerInvariant();
        return scheme switch
        {
            "s3" => new S3Storage(protocol, credentials),
            "http" or "https" or "davs" when rse.SignUrl is { } svc && client is not null => new PresignedHttpStorage(client, rse.Name, svc),
            "http" or "https" or "davs" => new WebDavStorage(),
            "file" => new PosixStorage(),
            "scp" or "sftp" or "ssh" or "rsync" => new SftpStorage(protocol, credentials),
            _ => throw new HpcException("ProtocolNotSupported", HpcErrorKind.NotImplemented,
                $"The RSE protocol '{protocol.Scheme}' ({protocol.Impl}) is not supported natively; use -RucioCommand to run the rucio CLI.", protocol.Scheme),
        };
    }

    internal static HpcException StorageError(string pfn, string what, Exception? inner = null) =>
        new("StorageError", HpcErrorKind.ResourceUnavailable, $"{what} ({pfn})", pfn, inner);

    internal static Uri HttpUri(string pfn)
    {
        var uri = new Uri(pfn);
        if (uri.Scheme == "davs") return new UriBuilder(uri) { Scheme = "https" }.Uri;
        return uri;
    }

    internal static StreamContent FileContent(Stream source)
    {
        source.Position = 0;
        var content = new StreamContent(source, 1 << 20);
        content.Headers.ContentLength = source.Length;
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        return content;
    }

    /// <summary>RFC 3230 Digest header (adler32=..., md5=base64) as dCache and XRootD answer to Want-Digest.</summary>
    internal static (string? Adler32, string? Md5) ParseDigest(HttpResponseMessage response)
    {
        string? adler = null, md5 = null;
        if (!response.Headers.TryGetValues("Digest", out var values)) return (null, null);
        foreach (var part in values.SelectMany(v => v.Split(',')))
        {
            var eq = part.IndexOf('=');
            if (eq <= 0) continue;
            var alg = part[..eq].Trim().ToLowerInvariant();
            var val = part[(eq + 1)..].Trim();
            if (alg == "adler32") adler = val.ToLowerInvariant();
            else if (alg == "md5")
            {
                try { md5 = Convert.ToHexString(Convert.FromBase64String(val)).ToLowerInvariant(); } catch (FormatException) { }
            }
        }
        return (adler, md5);
    }
}

/// <summary>webdav.Default: HTTP PUT; on a missing parent MKCOL up to 3 levels and retry; stat with HEAD + Want-Digest.</summary>
public sealed class WebDavStorage : IRucioStorage
{
    private readonly HttpClient _http = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { Timeout = TimeSpan.FromHours(2) };

    public async Task PutAsync(Stream content, string pfn, CancellationToken ct)
    {
        var uri = RucioStorage.HttpUri(pfn);
        for (var round = 0; round < 2; round++)
        {
            using var put = new HttpRequestMessage(HttpMethod.Put, uri) { Content = RucioStorage.FileContent(content) };
            using var response = await _http.SendAsync(put, ct).ConfigureAwait(false);
            if (response.IsSuccessStatusCode) return;
            if (response.StatusCode == HttpStatusCode.Unauthorized || response.StatusCode == HttpStatusCode.Forbidden)
                throw new HpcException("StorageAccessDenied", HpcErrorKind.PermissionDenied, $"The storage refused the upload ({(int)response.StatusCode}) to {pfn}.", pfn);
            if (round == 0 && response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Conflict or HttpStatusCode.MethodNotAllowed)
            {
                await MakeParentsAsync(uri, ct).ConfigureAwait(false);
                continue;
            }
            throw RucioStorage.StorageError(pfn, $"PUT answered {(int)response.StatusCode} {response.ReasonPhrase}");
        }
    }

    private async Task MakeParentsAsync(Uri uri, CancellationToken ct)
    {
        var segments = uri.AbsolutePath.TrimEnd('/').Split('/');
        for (var up = Math.Min(3, segments.Length - 2); up >= 1; up--)
        {
            var dir = new UriBuilder(uri) { Path = string.Join('/', segments[..^up]) + "/" }.Uri;
            using var mkcol = new HttpRequestMessage(new HttpMethod("MKCOL"), dir);
            using var _ = await _http.SendAsync(mkcol, ct).ConfigureAwait(false);
        }
    }

    public async Task<RemoteStat?> StatAsync(string pfn, CancellationToken ct)
    {
        using var head = new HttpRequestMessage(HttpMethod.Head, RucioStorage.HttpUri(pfn));
        head.Headers.TryAddWithoutValidation("Want-Digest", "adler32, md5");
        using var response = await _http.SendAsync(head, ct).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound) return null;
        if (!response.IsSuccessStatusCode) throw RucioStorage.StorageError(pfn, $"HEAD answered {(int)response.StatusCode}");
        var (adler, md5) = RucioStorage.ParseDigest(response);
        return new RemoteStat(response.Content.Headers.ContentLength ?? -1, adler, md5);
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>Object stores behind Rucio's /credentials/signurl (RSE attribute sign_url = s3/gcs/swift): presigned PUT and HEAD.</summary>
public sealed class PresignedHttpStorage : IRucioStorage
{
    private readonly RucioRestClient _client;
    private readonly string _rse;
    private readonly string _service;
    private readonly HttpClient _http = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { Timeout = TimeSpan.FromHours(2) };

    public PresignedHttpStorage(RucioRestClient client, string rse, string service)
    {
        _client = client;
        _rse = rse;
        _service = service;
    }

    public async Task PutAsync(Stream content, string pfn, CancellationToken ct)
    {
        var url = await _client.SignUrlAsync(_rse, _service, "write", pfn, ct).ConfigureAwait(false);
        using var put = new HttpRequestMessage(HttpMethod.Put, url) { Content = RucioStorage.FileContent(content) };
        using var response = await _http.SendAsync(put, ct).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
            throw RucioStorage.StorageError(pfn, $"presigned PUT answered {(int)response.StatusCode} {response.ReasonPhrase}");
    }

    public async Task<RemoteStat?> StatAsync(string pfn, CancellationToken ct)
    {
        var url = await _client.SignUrlAsync(_rse, _service, "read", pfn, ct).ConfigureAwait(false);
        // a URL signed for GET: ask for the first byte only and read the size from Content-Range
        using var get = new HttpRequestMessage(HttpMethod.Get, url);
        get.Headers.Range = new RangeHeaderValue(0, 0);
        using var response = await _http.SendAsync(get, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound) return null;
        if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable) return new RemoteStat(0, null, null);
        if (!response.IsSuccessStatusCode) throw RucioStorage.StorageError(pfn, $"presigned GET answered {(int)response.StatusCode}");
        var size = response.Content.Headers.ContentRange?.Length ?? response.Content.Headers.ContentLength ?? -1;
        return new RemoteStat(size, null, S3Storage.Md5FromETag(response.Headers.ETag?.Tag));
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>posix.Default: copy to {pfn}.rucio.upload, rename; stat recomputes size and adler32 from the stored file.</summary>
public sealed class PosixStorage : IRucioStorage
{
    public static string LocalPath(string pfn) => Uri.UnescapeDataString(new Uri(pfn).AbsolutePath);

    public async Task PutAsync(Stream src, string pfn, CancellationToken ct)
    {
        var target = LocalPath(pfn);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        var temp = target + ".rucio.upload";
        try
        {
            src.Position = 0;
            await using (var dst = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20, FileOptions.Asynchronous))
            {
                await src.CopyToAsync(dst, 1 << 20, ct).ConfigureAwait(false);
                await dst.FlushAsync(ct).ConfigureAwait(false);
                dst.Flush(flushToDisk: true);
            }
            File.Move(temp, target, overwrite: true);
        }
        catch
        {
            Common.AtomicFile.TryDelete(temp);
            throw;
        }
    }

    public async Task<RemoteStat?> StatAsync(string pfn, CancellationToken ct)
    {
        var path = LocalPath(pfn);
        if (!File.Exists(path)) return null;
        var sums = await FileChecksums.ComputeAsync(path, ct).ConfigureAwait(false);
        return new RemoteStat(sums.Bytes, sums.Adler32, sums.Md5);
    }

    public void Dispose() { }
}
