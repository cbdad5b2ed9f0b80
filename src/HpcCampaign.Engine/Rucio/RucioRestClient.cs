using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using HpcCampaign.Engine.Common;

namespace HpcCampaign.Engine.Rucio;

/// <summary>
/// The part of Rucio's REST API an upload uses (spec §2.3–2.4): token authentication (userpass, x509, x509_proxy,
/// cached token), X-Rucio-* headers, re-authentication on 401, back-off on 502/503/504, and the DID, replica,
/// rule and credential calls. Thread-safe; one instance serves every parallel worker.
/// </summary>
public sealed class RucioRestClient : IDisposable
{
    private const string Script = "hpccampaign::Send-RucioBatch";
    private readonly RucioConfig _config;
    private readonly HttpClient _http;
    private readonly SemaphoreSlim _authLock = new(1, 1);
    private readonly Func<int, TimeSpan> _backoff;
    private string? _token;
    private string? _account;

    public RucioRestClient(RucioConfig config, Func<int, TimeSpan>? backoff = null)
    {
        _config = config;
        _backoff = backoff ?? (attempt => TimeSpan.FromMilliseconds(250 * Math.Pow(2, attempt)));
        _account = config.Account;
        var handler = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5), MaxConnectionsPerServer = 64 };
        var ssl = new SslClientAuthenticationOptions();
        if (config.CaCert is { } ca)
        {
            var trust = new X509Certificate2Collection();
            trust.ImportFromPemFile(ca);
            ssl.RemoteCertificateValidationCallback = (_, cert, _, errors) =>
            {
                if (errors == SslPolicyErrors.None) return true;
                if (cert is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != 0) return false;
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.AddRange(trust);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return chain.Build(new X509Certificate2(cert));
            };
        }
        if (config.AuthType is "x509" or "x509_proxy")
        {
            var (certFile, keyFile) = config.AuthType == "x509" ? (config.ClientCert, config.ClientKey) : (config.ProxyFile, config.ProxyFile);
            if (certFile is null || !File.Exists(certFile))
                throw new HpcException("RucioCertificateNotFound", HpcErrorKind.ObjectNotFound, $"The {config.AuthType} certificate '{certFile}' does not exist.", certFile);
            var cert = X509Certificate2.CreateFromPemFile(certFile, keyFile ?? certFile);
            ssl.ClientCertificates = new X509CertificateCollection { cert };
        }
        handler.SslOptions = ssl;
        _http = new HttpClient(handler) { Timeout = TimeSpan.FromMinutes(5) };
    }

    public string? Account => _account;

    private string TokenCacheFile
    {
        get
        {
            if (_config.TokenFile is { } f) return f;
            var user = Environment.UserName;
            var dir = Path.Combine(Path.GetTempPath(), ".rucio_" + user + (_config.Vo is { } vo ? "@" + vo : ""));
            return Path.Combine(dir, _config.Account is { } a ? "auth_token_for_account_" + a : "auth_token_for_default_account");
        }
    }

    // ---- authentication -----------------------------------------------------------------------------------------

    /// <summary>The current token; <paramref name="refused"/> is a token the server just refused (401): get a new one.</summary>
    private async Task<string> TokenAsync(string? refused, CancellationToken ct)
    {
        if (refused is null && _token is { } current) return current;
        await _authLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_token is not null && _token != refused) return _token; // another worker already renewed it
            if (refused is null && File.Exists(TokenCacheFile))
            {
                var cached = File.ReadAllText(TokenCacheFile).Trim();
                if (cached.Length > 0) return _token = cached;
            }
            _token = await AuthenticateAsync(ct).ConfigureAwait(false);
            try { AtomicFile.WriteAllText(TokenCacheFile, _token, ownerOnly: true); }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { /* the cache is an optimisation */ }
            return _token;
        }
        finally
        {
            _authLock.Release();
        }
    }

    private async Task<string> AuthenticateAsync(CancellationToken ct)
    {
        var endpoint = _config.AuthType switch
        {
            "userpass" => "/auth/userpass",
            "x509" => "/auth/x509",
            "x509_proxy" => "/auth/x509_proxy",
            _ => throw new HpcException("RucioAuthTypeNotSupported", HpcErrorKind.NotImplemented,
                $"auth_type '{_config.AuthType}' is not supported here (userpass, x509, x509_proxy, or a cached token).", _config.AuthType),
        };
        for (var attempt = 0; ; attempt++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, _config.AuthHost.TrimEnd('/') + endpoint);
            AddCommonHeaders(request, withToken: false);
            if (_config.AuthType == "userpass")
            {
                if (_config.Username is null || _config.Password is null)
                    throw new HpcException("RucioCredentialsMissing", HpcErrorKind.AuthenticationError,
                        "auth_type userpass needs [client] username and password in rucio.cfg, or -Credential.", _config.Path);
                request.Headers.TryAddWithoutValidation("X-Rucio-Username", _config.Username);
                request.Headers.TryAddWithoutValidation("X-Rucio-Password", _config.Password);
            }
            HttpResponseMessage response;
            try
            {
                response = await _http.SendAsync(request, ct).ConfigureAwait(false);
            }
            catch (HttpRequestException ex)
            {
                if (attempt < _config.RequestRetries) { await Task.Delay(_backoff(attempt), ct).ConfigureAwait(false); continue; }
                throw new HpcException("RucioServerUnreachable", HpcErrorKind.ConnectionError, $"Cannot reach the Rucio auth server {_config.AuthHost}: {ex.Message}", _config.AuthHost, ex);
            }
            using (response)
            {
                if (IsTransient(response.StatusCode) && attempt < _config.RequestRetries)
                {
                    await Task.Delay(_backoff(attempt), ct).ConfigureAwait(false);
                    continue;
                }
                if (response.StatusCode == HttpStatusCode.Unauthorized)
                    throw new HpcException("RucioAuthenticationFailed", HpcErrorKind.AuthenticationError,
                        $"The Rucio server refused the {_config.AuthType} credentials for account '{_config.Account ?? "(default)"}': {ServerMessage(response)}",
                        _config.AuthHost) { RecommendedAction = "Check the username/password (or certificate) and account in rucio.cfg or -Credential." };
                if (!response.IsSuccessStatusCode || !response.Headers.TryGetValues("X-Rucio-Auth-Token", out var tokens))
                    throw await ErrorFrom(response, "authenticate", ct).ConfigureAwait(false);
                return tokens.First();
            }
        }
    }

    private void AddCommonHeaders(HttpRequestMessage request, bool withToken, string? token = null)
    {
        if (withToken && token is not null) request.Headers.TryAddWithoutValidation("X-Rucio-Auth-Token", token);
        if (_config.Vo is { } vo) request.Headers.TryAddWithoutValidation("X-Rucio-VO", vo);
        if (_account is { } account) request.Headers.TryAddWithoutValidation("X-Rucio-Account", account);
        request.Headers.TryAddWithoutValidation("X-Rucio-Script", Script);
        request.Headers.UserAgent.Add(new ProductInfoHeaderValue("hpccampaign", "0.1"));
        request.Headers.Connection.Add("Keep-Alive");
    }

    private static bool IsTransient(HttpStatusCode code) => code is HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout;

    private static string ServerMessage(HttpResponseMessage r) =>
        r.Headers.TryGetValues("ExceptionMessage", out var m) ? m.First() : ((int)r.StatusCode + " " + r.ReasonPhrase);

    private static async Task<HpcException> ErrorFrom(HttpResponseMessage response, string what, CancellationToken ct)
    {
        var cls = response.Headers.TryGetValues("ExceptionClass", out var c) ? c.First() : null;
        var message = response.Headers.TryGetValues("ExceptionMessage", out var m) ? m.First() : null;
        if (message is null)
        {
            var body = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
            message = body.Length > 300 ? body[..300] : body;
        }
        var kind = response.StatusCode switch
        {
            HttpStatusCode.NotFound => HpcErrorKind.ObjectNotFound,
            HttpStatusCode.Conflict => HpcErrorKind.ResourceExists,
            HttpStatusCode.Unauthorized => HpcErrorKind.AuthenticationError,
            HttpStatusCode.Forbidden => HpcErrorKind.PermissionDenied,
            HttpStatusCode.BadRequest => HpcErrorKind.InvalidArgument,
            _ => HpcErrorKind.ResourceUnavailable,
        };
        // Rucio's exception class names (DataIdentifierNotFound, AccessDenied...) are stable PascalCase ids already
        var id = cls is null || cls == "RucioException" || !cls.All(char.IsLetterOrDigit) ? "RucioServerError"
            : cls.StartsWith("Rucio", StringComparison.Ordinal) ? cls : "Rucio" + cls;
        return new HpcException(id, kind, $"Rucio {what}: {(int)response.StatusCode} {cls} {message}".Trim(), what);
    }

    // ---- requests -----------------------------------------------------------------------------------------------

    /// <summary>Sends an authenticated request; 401 re-authenticates (2 more tries), 502/503/504 back off and retry.</summary>
    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string pathAndQuery, JsonNode? body, CancellationToken ct)
    {
        var reauths = 0;
        var token = await TokenAsync(null, ct).ConfigureAwait(false);
        for (var attempt = 0; ; attempt++)
        {
            using var request = new HttpRequestMessage(method, _config.RucioHost.TrimEnd('/') + pathAndQuery);
            AddCommonHeaders(request, withToken: true, token);
            if (body is not null) request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
            HttpResponseMessage response;
            try
            {
                response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
            }
            catch (HttpRequestException ex)
            {
                if (attempt < _config.RequestRetries) { await Task.Delay(_backoff(attempt), ct).ConfigureAwait(false); continue; }
                throw new HpcException("RucioServerUnreachable", HpcErrorKind.ConnectionError, $"Cannot reach the Rucio server {_config.RucioHost}: {ex.Message}", _config.RucioHost, ex);
            }
            if (response.StatusCode == HttpStatusCode.Unauthorized && reauths < 2)
            {
                response.Dispose();
                reauths++;
                token = await TokenAsync(token, ct).ConfigureAwait(false);
                attempt--;
                continue;
            }
            if (IsTransient(response.StatusCode) && attempt < _config.RequestRetries)
            {
                response.Dispose();
                await Task.Delay(_backoff(attempt), ct).ConfigureAwait(false);
                continue;
            }
            return response;
        }
    }

    private async Task<JsonNode?> JsonAsync(HttpMethod method, string path, JsonNode? body, string what, CancellationToken ct, bool notFoundIsNull = false)
    {
        using var response = await SendAsync(method, path, body, ct).ConfigureAwait(false);
        if (notFoundIsNull && response.StatusCode == HttpStatusCode.NotFound) return null;
        if (!response.IsSuccessStatusCode) throw await ErrorFrom(response, what, ct).ConfigureAwait(false);
        var text = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
        return text.Length == 0 ? null : JsonNode.Parse(text);
    }

    private static string E(string s) => Uri.EscapeDataString(s);

    public async Task<string> WhoAmIAsync(CancellationToken ct)
    {
        var node = await JsonAsync(HttpMethod.Get, "/accounts/whoami", null, "whoami", ct).ConfigureAwait(false);
        var account = (string?)node?["account"] ?? throw new HpcException("RucioServerError", HpcErrorKind.InvalidData, "whoami returned no account.", null);
        _account ??= account;
        return account;
    }

    public async Task<RseInfo> GetRseAsync(string rse, CancellationToken ct)
    {
        var settings = await JsonAsync(HttpMethod.Get, $"/rses/{E(rse)}", null, "get_rse", ct, notFoundIsNull: true).ConfigureAwait(false)
            ?? throw new HpcException("RucioRseNotFound", HpcErrorKind.ObjectNotFound, $"The Rucio server does not know the RSE '{rse}'.", rse);
        var attributes = await JsonAsync(HttpMethod.Get, $"/rses/{E(rse)}/attr/", null, "list_rse_attributes", ct).ConfigureAwait(false) as JsonObject ?? new JsonObject();
        return RseInfo.FromJson(rse, settings, attributes, _config.Lfn2PfnDefault);
    }

    /// <summary>GET /dids/{scope}/{name}/meta; null when the DID does not exist.</summary>
    public async Task<JsonObject?> GetMetadataAsync(string scope, string name, CancellationToken ct) =>
        await JsonAsync(HttpMethod.Get, $"/dids/{E(scope)}/{E(name)}/meta", null, "get_metadata", ct, notFoundIsNull: true).ConfigureAwait(false) as JsonObject;

    /// <summary>GET /dids/{scope}/{name}; null when it does not exist.</summary>
    public async Task<JsonObject?> GetDidAsync(string scope, string name, CancellationToken ct) =>
        await JsonAsync(HttpMethod.Get, $"/dids/{E(scope)}/{E(name)}", null, "get_did", ct, notFoundIsNull: true).ConfigureAwait(false) as JsonObject;

    /// <summary>POST /replicas/list for the DIDs (all states); the server answers one JSON object per line.</summary>
    public async Task<List<JsonObject>> ListReplicasAsync(IEnumerable<(string Scope, string Name)> dids, CancellationToken ct)
    {
        var body = new JsonObject
        {
            ["dids"] = new JsonArray(dids.Select(d => (JsonNode)new JsonObject { ["scope"] = d.Scope, ["name"] = d.Name }).ToArray()),
            ["all_states"] = true,
            ["unavailable"] = true,
        };
        using var response = await SendAsync(HttpMethod.Post, "/replicas/list", body, ct).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound) return new List<JsonObject>();
        if (!response.IsSuccessStatusCode) throw await ErrorFrom(response, "list_replicas", ct).ConfigureAwait(false);
        var text = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
        var result = new List<JsonObject>();
        var trimmed = text.TrimStart();
        if (trimmed.StartsWith('['))
        {
            foreach (var n in JsonNode.Parse(trimmed)!.AsArray()) if (n is JsonObject o) result.Add(o);
            return result;
        }
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            if (JsonNode.Parse(line) is JsonObject o) result.Add(o);
        return result;
    }

    public async Task AddReplicasAsync(string rse, IEnumerable<JsonObject> files, CancellationToken ct)
    {
        var body = new JsonObject { ["rse"] = rse, ["files"] = new JsonArray(files.ToArray<JsonNode>()), ["ignore_availability"] = true };
        await JsonAsync(HttpMethod.Post, "/replicas/", body, "add_replicas", ct).ConfigureAwait(false);
    }

    public async Task UpdateReplicaStatesAsync(string rse, IEnumerable<JsonObject> files, CancellationToken ct)
    {
        var body = new JsonObject { ["rse"] = rse, ["files"] = new JsonArray(files.ToArray<JsonNode>()) };
        await JsonAsync(HttpMethod.Put, "/replicas/", body, "update_replicas_states", ct).ConfigureAwait(false);
    }

    /// <summary>POST /rules/: one copy on the RSE; lifetime in seconds or null (forever). Returns the rule ids.</summary>
    public async Task<List<string>> AddRuleAsync(IEnumerable<(string Scope, string Name)> dids, string rse, long? lifetime, CancellationToken ct)
    {
        var body = new JsonObject
        {
            ["dids"] = new JsonArray(dids.Select(d => (JsonNode)new JsonObject { ["scope"] = d.Scope, ["name"] = d.Name }).ToArray()),
            ["account"] = _account,
            ["copies"] = 1,
            ["rse_expression"] = rse,
            ["grouping"] = "DATASET",
            ["lifetime"] = lifetime,
            ["weight"] = null,
            ["locked"] = false,
            ["subscription_id"] = null,
            ["source_replica_expression"] = null,
            ["activity"] = null,
            ["notify"] = "N",
            ["purge_replicas"] = false,
            ["ignore_availability"] = true,
            ["comment"] = null,
            ["ask_approval"] = false,
            ["asynchronous"] = false,
            ["priority"] = 3,
            ["meta"] = null,
        };
        var node = await JsonAsync(HttpMethod.Post, "/rules/", body, "add_replication_rule", ct).ConfigureAwait(false);
        return node is JsonArray a ? a.Select(x => (string?)x ?? "").ToList() : new List<string>();
    }

    /// <summary>POST /dids/{scope}/{name} type DATASET with one rule on the RSE.</summary>
    public async Task AddDatasetAsync(string scope, string name, string rse, long? lifetime, CancellationToken ct)
    {
        var body = new JsonObject
        {
            ["type"] = "DATASET",
            ["rules"] = new JsonArray(new JsonObject
            {
                ["account"] = _account, ["copies"] = 1, ["rse_expression"] = rse, ["grouping"] = "DATASET", ["lifetime"] = lifetime,
            }),
        };
        await JsonAsync(HttpMethod.Post, $"/dids/{E(scope)}/{E(name)}", body, "add_dataset", ct).ConfigureAwait(false);
    }

    public async Task AttachDidsAsync(string scope, string name, IEnumerable<(string Scope, string Name)> dids, CancellationToken ct)
    {
        var body = new JsonObject
        {
            ["dids"] = new JsonArray(dids.Select(d => (JsonNode)new JsonObject { ["scope"] = d.Scope, ["name"] = d.Name }).ToArray()),
        };
        await JsonAsync(HttpMethod.Post, $"/dids/{E(scope)}/{E(name)}/dids", body, "attach_dids", ct).ConfigureAwait(false);
    }

    /// <summary>GET /credentials/signurl: a presigned URL for op (read, write, delete) on an object store PFN.</summary>
    public async Task<string> SignUrlAsync(string rse, string service, string operation, string url, CancellationToken ct)
    {
        var q = $"/credentials/signurl?rse={E(rse)}&svc={E(service)}&op={E(operation)}&url={E(url)}&lifetime=3600";
        using var response = await SendAsync(HttpMethod.Get, q, null, ct).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode) throw await ErrorFrom(response, "get_signed_url", ct).ConfigureAwait(false);
        return (await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false)).Trim().Trim('"');
    }

    public void Dispose()
    {
        _http.Dispose();
        _authLock.Dispose();
    }
}
