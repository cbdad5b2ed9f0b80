using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace HpcCampaign.Tests;

/// <summary>
/// STAND-IN for a Rucio server (a real one cannot run here): an HttpListener on 127.0.0.1 that follows Rucio's
/// documented REST endpoints for an upload (spec rucio-upload.md §2.3–2.4): /auth/userpass, /accounts/whoami,
/// /rses/{rse}, /rses/{rse}/attr/, /dids/{scope}/{name}[/meta|/dids], POST/PUT /replicas/, POST /replicas/list,
/// POST /rules/, /credentials/signurl. It keeps DIDs, replicas, rules and attachments in memory, records every
/// call, answers errors with ExceptionClass/ExceptionMessage headers, and can inject failures.
/// </summary>
public sealed class RucioServerStandIn : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly ConcurrentDictionary<string, string> _tokens = new();
    private readonly object _gate = new();
    private readonly Task _loop;

    public RucioServerStandIn(string account = "survey", string username = "alice", string password = "right-password")
    {
        Account = account;
        Username = username;
        Password = password;
        Port = FreePort();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public int Port { get; }
    public string Url => $"http://127.0.0.1:{Port}";
    public string Account { get; }
    public string Username { get; }
    public string Password { get; set; }

    /// <summary>RSE name → settings (GET /rses/{rse}) and attributes (GET /rses/{rse}/attr/).</summary>
    public ConcurrentDictionary<string, (JsonObject Settings, JsonObject Attributes)> Rses { get; } = new();
    /// <summary>"scope:name" → DID (type, bytes, adler32, md5, guid) with "replicas": {rse: state letter}.</summary>
    public Dictionary<string, JsonObject> Dids { get; } = new();
    public List<JsonObject> Rules { get; } = new();
    /// <summary>"dscope:dname" → attached "scope:name".</summary>
    public Dictionary<string, List<string>> Attachments { get; } = new();
    public ConcurrentQueue<Call> Calls { get; } = new();
    /// <summary>Signs object-store URLs for /credentials/signurl: (op, url) → presigned URL.</summary>
    public Func<string, string, string>? Signer { get; set; }
    /// <summary>POST /replicas/ fails (500) for a batch that contains one of these names; alone, that file fails.</summary>
    public HashSet<string> RejectReplicaNames { get; } = new();
    /// <summary>
    /// POST /replicas/list waits (up to 10 s) until this many of them are in flight at once: a run that is really
    /// parallel gets through at once; MaxConcurrentLists records what was seen.
    /// </summary>
    public int HoldListsUntilConcurrent { get; set; }
    public int MaxConcurrentLists => _maxLists;
    private int _lists, _maxLists;
    private readonly SemaphoreSlim _listArrived = new(0, int.MaxValue);
    /// <summary>The next N API calls answer 503 (to test back-off).</summary>
    public int ServiceUnavailableCount;

    public sealed record Call(string Method, string Path, string Query, string Body, Dictionary<string, string> Headers);

    public int CountCalls(string method, string pathPrefix) => Calls.Count(c => c.Method == method && c.Path.StartsWith(pathPrefix, StringComparison.Ordinal));

    /// <summary>A valid token, as if issued by another auth endpoint (x509) or an earlier session.</summary>
    public string IssueToken()
    {
        var token = $"{Account}-issued-{Guid.NewGuid():N}";
        _tokens[token] = Account;
        return token;
    }

    /// <summary>Forgets every issued token: the next call answers 401 and the client must re-authenticate.</summary>
    public void ExpireTokens() => _tokens.Clear();

    public void AddRse(string name, JsonArray protocols, JsonObject? attributes = null, bool deterministic = true)
    {
        Rses[name] = (new JsonObject
        {
            ["id"] = Guid.NewGuid().ToString("N"), ["rse"] = name, ["rse_type"] = "DISK", ["deterministic"] = deterministic,
            ["volatile"] = false, ["availability_read"] = true, ["availability_write"] = true, ["availability_delete"] = true,
            ["domain"] = new JsonArray("lan", "wan"), ["protocols"] = protocols,
        }, attributes ?? new JsonObject { ["lfn2pfn_algorithm"] = "hash" });
    }

    public static JsonObject Protocol(string scheme, string host, int port, string prefix, string impl, int writePriority = 1, JsonObject? extended = null) => new()
    {
        ["scheme"] = scheme, ["hostname"] = host, ["port"] = port, ["prefix"] = prefix, ["impl"] = impl,
        ["domains"] = new JsonObject
        {
            ["lan"] = new JsonObject { ["read"] = 1, ["write"] = writePriority, ["delete"] = 1 },
            ["wan"] = new JsonObject { ["read"] = 1, ["write"] = writePriority, ["delete"] = 1, ["third_party_copy_read"] = 1, ["third_party_copy_write"] = 1 },
        },
        ["extended_attributes"] = extended,
    };

    public JsonObject? Did(string scope, string name)
    {
        lock (_gate) return Dids.TryGetValue(scope + ":" + name, out var d) ? d : null;
    }

    private static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        var port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext ctx;
            try { ctx = await _listener.GetContextAsync(); }
            catch (Exception) { return; }
            _ = Task.Run(() => Handle(ctx));
        }
    }

    private void Handle(HttpListenerContext ctx)
    {
        var req = ctx.Request;
        var res = ctx.Response;
        try
        {
            string body;
            using (var reader = new StreamReader(req.InputStream, Encoding.UTF8)) body = reader.ReadToEnd();
            var path = req.Url!.AbsolutePath;
            var headers = req.Headers.AllKeys.Where(k => k is not null && k.StartsWith("X-Rucio", StringComparison.OrdinalIgnoreCase))
                .ToDictionary(k => k!, k => k == "X-Rucio-Password" ? "***" : req.Headers[k]!);
            Calls.Enqueue(new Call(req.HttpMethod, path, req.Url.Query, body, headers));
            Route(req, res, path, body);
        }
        catch (Exception ex)
        {
            try { Error(res, 500, "RucioException", ex.Message); } catch (Exception) { }
        }
        finally
        {
            try { res.Close(); } catch (Exception) { }
        }
    }

    private static void Error(HttpListenerResponse res, int status, string cls, string message)
    {
        res.StatusCode = status;
        res.Headers["ExceptionClass"] = cls;
        res.Headers["ExceptionMessage"] = message.Replace('\n', ' ');
        Write(res, new JsonObject { ["ExceptionClass"] = cls, ["ExceptionMessage"] = message }.ToJsonString());
    }

    private static void Write(HttpListenerResponse res, string text, string type = "application/json")
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        res.ContentType = type;
        res.ContentLength64 = bytes.Length;
        res.OutputStream.Write(bytes);
    }

    private static string[] Segments(string path) => path.Trim('/').Split('/').Select(Uri.UnescapeDataString).ToArray();

    private void Route(HttpListenerRequest req, HttpListenerResponse res, string path, string body)
    {
        if (path == "/auth/userpass")
        {
            if (req.Headers["X-Rucio-Username"] != Username || req.Headers["X-Rucio-Password"] != Password)
            {
                Error(res, 401, "CannotAuthenticate", $"Cannot authenticate to account {req.Headers["X-Rucio-Account"]} with given credentials");
                return;
            }
            var token = $"{Account}-{Username}-{Guid.NewGuid():N}";
            _tokens[token] = Account;
            res.Headers["X-Rucio-Auth-Token"] = token;
            res.Headers["X-Rucio-Auth-Token-Expires"] = DateTime.UtcNow.AddHours(1).ToString("R");
            res.StatusCode = 200;
            return;
        }
        if (req.Headers["X-Rucio-Auth-Token"] is not { } t || !_tokens.ContainsKey(t))
        {
            Error(res, 401, "CannotAuthenticate", "Cannot authenticate with given credentials");
            return;
        }
        if (Interlocked.Decrement(ref ServiceUnavailableCount) >= 0)
        {
            Error(res, 503, "ServiceUnavailable", "injected 503");
            return;
        }
        var s = Segments(path);
        var m = req.HttpMethod;
        if (s is ["replicas", "list"] && HoldListsUntilConcurrent > 0)
        {
            var now = Interlocked.Increment(ref _lists);
            int seen;
            while ((seen = _maxLists) < now && Interlocked.CompareExchange(ref _maxLists, now, seen) != seen) { }
            _listArrived.Release(HoldListsUntilConcurrent);
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (_maxLists < HoldListsUntilConcurrent && DateTime.UtcNow < deadline) _listArrived.Wait(100);
            Interlocked.Decrement(ref _lists);
        }
        lock (_gate)
        {
            switch (s)
            {
                case ["accounts", "whoami"] when m == "GET":
                    Write(res, new JsonObject { ["account"] = Account, ["status"] = "ACTIVE", ["account_type"] = "USER" }.ToJsonString());
                    return;
                case ["rses", var rse] when m == "GET":
                    if (Rses.TryGetValue(rse, out var r)) Write(res, r.Settings.ToJsonString());
                    else Error(res, 404, "RSENotFound", $"RSE '{rse}' cannot be found");
                    return;
                case ["rses", var rse, "attr"] when m == "GET":
                    if (Rses.TryGetValue(rse, out var ra)) Write(res, ra.Attributes.ToJsonString());
                    else Error(res, 404, "RSENotFound", $"RSE '{rse}' cannot be found");
                    return;
                case ["dids", var scope, var name, "meta"] when m == "GET":
                    if (Dids.TryGetValue(scope + ":" + name, out var meta))
                        Write(res, new JsonObject
                        {
                            ["scope"] = scope, ["name"] = name, ["did_type"] = meta["type"]?.DeepClone(), ["bytes"] = meta["bytes"]?.DeepClone(),
                            ["adler32"] = meta["adler32"]?.DeepClone(), ["md5"] = meta["md5"]?.DeepClone(), ["guid"] = meta["guid"]?.DeepClone(),
                        }.ToJsonString());
                    else Error(res, 404, "DataIdentifierNotFound", $"Data identifier '{scope}:{name}' not found");
                    return;
                case ["dids", var scope, var name] when m == "GET":
                    if (Dids.TryGetValue(scope + ":" + name, out var found))
                        Write(res, new JsonObject { ["scope"] = scope, ["name"] = name, ["type"] = found["type"]?.DeepClone(), ["bytes"] = found["bytes"]?.DeepClone() }.ToJsonString());
                    else Error(res, 404, "DataIdentifierNotFound", $"Data identifier '{scope}:{name}' not found");
                    return;
                case ["dids", var scope, var name] when m == "POST":
                {
                    var key = scope + ":" + name;
                    if (Dids.ContainsKey(key)) { Error(res, 409, "DataIdentifierAlreadyExists", $"Data identifier '{key}' already exists"); return; }
                    var spec = JsonNode.Parse(body)!;
                    Dids[key] = new JsonObject { ["type"] = (string?)spec["type"] ?? "DATASET", ["replicas"] = new JsonObject() };
                    foreach (var rule in spec["rules"] as JsonArray ?? new JsonArray())
                        Rules.Add(new JsonObject { ["dids"] = new JsonArray(new JsonObject { ["scope"] = scope, ["name"] = name }), ["rse_expression"] = rule!["rse_expression"]?.DeepClone(), ["lifetime"] = rule["lifetime"]?.DeepClone() });
                    res.StatusCode = 201;
                    Write(res, "\"Created\"");
                    return;
                }
                case ["dids", var scope, var name, "dids"] when m == "POST":
                {
                    var key = scope + ":" + name;
                    if (!Dids.ContainsKey(key)) { Error(res, 404, "DataIdentifierNotFound", $"Data identifier '{key}' not found"); return; }
                    var list = Attachments.TryGetValue(key, out var l) ? l : Attachments[key] = new List<string>();
                    foreach (var d in JsonNode.Parse(body)!["dids"]!.AsArray())
                    {
                        var child = $"{d!["scope"]}:{d["name"]}";
                        if (!Dids.ContainsKey(child)) { Error(res, 404, "DataIdentifierNotFound", $"Data identifier '{child}' not found"); return; }
                        if (!list.Contains(child)) list.Add(child);
                    }
                    res.StatusCode = 201;
                    Write(res, "\"Created\"");
                    return;
                }
                case ["replicas"] when m == "POST":
                {
                    var spec = JsonNode.Parse(body)!;
                    var rse = (string)spec["rse"]!;
                    var files = spec["files"]!.AsArray();
                    if (files.Any(f => RejectReplicaNames.Contains((string)f!["name"]!)))
                    {
                        Error(res, 500, "RucioException", "injected failure for a rejected name");
                        return;
                    }
                    foreach (var f in files)
                    {
                        var key = $"{f!["scope"]}:{f["name"]}";
                        if (Dids.TryGetValue(key, out var existing) && existing["adler32"] is not null && (string?)existing["adler32"] != (string?)f["adler32"])
                        {
                            Error(res, 409, "DataIdentifierAlreadyExists", $"Data identifier '{key}' already exists with another checksum");
                            return;
                        }
                    }
                    foreach (var f in files)
                    {
                        var key = $"{f!["scope"]}:{f["name"]}";
                        if (!Dids.TryGetValue(key, out var did))
                            Dids[key] = did = new JsonObject
                            {
                                ["type"] = "FILE", ["bytes"] = f["bytes"]?.DeepClone(), ["adler32"] = f["adler32"]?.DeepClone(), ["md5"] = f["md5"]?.DeepClone(),
                                ["guid"] = f["meta"]?["guid"]?.DeepClone(), ["replicas"] = new JsonObject(),
                            };
                        did["replicas"]![rse] = (string?)f["state"] ?? "A";
                    }
                    res.StatusCode = 201;
                    Write(res, "\"Created\"");
                    return;
                }
                case ["replicas"] when m == "PUT":
                {
                    var spec = JsonNode.Parse(body)!;
                    var rse = (string)spec["rse"]!;
                    foreach (var f in spec["files"]!.AsArray())
                    {
                        var key = $"{f!["scope"]}:{f["name"]}";
                        if (!Dids.TryGetValue(key, out var did) || did["replicas"]![rse] is null)
                        {
                            Error(res, 404, "ReplicaNotFound", $"No replica of {key} on {rse}");
                            return;
                        }
                        did["replicas"]![rse] = (string)f["state"]!;
                    }
                    res.StatusCode = 200;
                    return;
                }
                case ["replicas", "list"] when m == "POST":
                {
                    var sb = new StringBuilder();
                    foreach (var d in JsonNode.Parse(body)!["dids"]!.AsArray())
                    {
                        var key = $"{d!["scope"]}:{d["name"]}";
                        if (!Dids.TryGetValue(key, out var did) || (string?)did["type"] != "FILE") continue;
                        var rses = new JsonObject();
                        var states = new JsonObject();
                        foreach (var (rse, state) in did["replicas"]!.AsObject())
                        {
                            rses[rse] = new JsonArray(PfnOf(rse, (string)d["scope"]!, (string)d["name"]!));
                            states[rse] = (string?)state switch { "A" => "AVAILABLE", "C" => "COPYING", var x => x };
                        }
                        sb.Append(new JsonObject
                        {
                            ["scope"] = d["scope"]!.DeepClone(), ["name"] = d["name"]!.DeepClone(), ["bytes"] = did["bytes"]?.DeepClone(),
                            ["adler32"] = did["adler32"]?.DeepClone(), ["md5"] = did["md5"]?.DeepClone(), ["rses"] = rses, ["states"] = states, ["pfns"] = new JsonObject(),
                        }.ToJsonString()).Append('\n');
                    }
                    Write(res, sb.ToString(), "application/x-json-stream");
                    return;
                }
                case ["rules"] when m == "POST":
                {
                    var spec = JsonNode.Parse(body)!.AsObject();
                    foreach (var d in spec["dids"]!.AsArray())
                        if (!Dids.ContainsKey($"{d!["scope"]}:{d["name"]}")) { Error(res, 404, "DataIdentifierNotFound", $"{d["scope"]}:{d["name"]} not found"); return; }
                    Rules.Add((JsonObject)spec.DeepClone());
                    res.StatusCode = 201;
                    Write(res, new JsonArray(Guid.NewGuid().ToString("N")).ToJsonString());
                    return;
                }
                case ["credentials", "signurl"] when m == "GET":
                {
                    var q = System.Web.HttpUtility.ParseQueryString(req.Url!.Query);
                    if (Signer is null) { Error(res, 400, "UnsupportedOperation", "no signer"); return; }
                    Write(res, Signer(q["op"]!, q["url"]!), "text/plain");
                    return;
                }
            }
        }
        Error(res, 404, "MethodNotAllowed", $"{m} {path} is not an endpoint of this stand-in");
    }

    private string PfnOf(string rse, string scope, string name)
    {
        if (!Rses.TryGetValue(rse, out var r)) return "";
        var p = r.Settings["protocols"]!.AsArray().FirstOrDefault();
        if (p is null) return "";
        var h = Convert.ToHexString(System.Security.Cryptography.MD5.HashData(Encoding.UTF8.GetBytes(scope + ":" + name))).ToLowerInvariant();
        var sp = scope.StartsWith("user") || scope.StartsWith("group") ? scope.Replace('.', '/') : scope;
        return $"{p["scheme"]}://{p["hostname"]}:{p["port"]}/{((string)p["prefix"]!).Trim('/')}/{sp}/{h[..2]}/{h[2..4]}/{name}";
    }

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        try { _loop.Wait(2000); } catch (Exception) { }
    }
}

/// <summary>
/// STAND-IN for a WebDAV storage (dCache/XRootD style): PUT stores in memory, MKCOL makes collections, HEAD answers
/// Content-Length and, for "Want-Digest: adler32", an RFC 3230 Digest header. CorruptNames makes it store (or
/// report) a different content for the names listed, to test verification.
/// </summary>
public sealed class WebDavStorageStandIn : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Task _loop;

    public WebDavStorageStandIn()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        Port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public int Port { get; }
    public ConcurrentDictionary<string, byte[]> Files { get; } = new();
    public ConcurrentDictionary<string, bool> Collections { get; } = new();
    /// <summary>Files whose name ends with one of these are stored with one byte flipped (same size, other adler32).</summary>
    public HashSet<string> CorruptNames { get; } = new();
    /// <summary>Files whose name ends with one of these are stored one byte short.</summary>
    public HashSet<string> TruncateNames { get; } = new();
    public int PutCount;

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext ctx;
            try { ctx = await _listener.GetContextAsync(); }
            catch (Exception) { return; }
            _ = Task.Run(() => Handle(ctx));
        }
    }

    private void Handle(HttpListenerContext ctx)
    {
        var path = Uri.UnescapeDataString(ctx.Request.Url!.AbsolutePath);
        var res = ctx.Response;
        try
        {
            switch (ctx.Request.HttpMethod)
            {
                case "MKCOL":
                    Collections[path.TrimEnd('/')] = true;
                    res.StatusCode = 201;
                    break;
                case "PUT":
                {
                    var parent = path[..path.LastIndexOf('/')];
                    if (!Collections.ContainsKey(parent)) { res.StatusCode = 409; break; }
                    using var ms = new MemoryStream();
                    ctx.Request.InputStream.CopyTo(ms);
                    var data = ms.ToArray();
                    if (CorruptNames.Any(n => path.EndsWith(n)) && data.Length > 0) data[0] ^= 0xff;
                    if (TruncateNames.Any(n => path.EndsWith(n)) && data.Length > 0) data = data[..^1];
                    Files[path] = data;
                    Interlocked.Increment(ref PutCount);
                    res.StatusCode = 201;
                    break;
                }
                case "HEAD":
                    if (!Files.TryGetValue(path, out var stored)) { res.StatusCode = 404; break; }
                    res.ContentLength64 = stored.Length;
                    if ((ctx.Request.Headers["Want-Digest"] ?? "").Contains("adler32", StringComparison.OrdinalIgnoreCase))
                        res.Headers["Digest"] = "adler32=" + Adler32Hex(stored);
                    res.StatusCode = 200;
                    break;
                default:
                    res.StatusCode = 405;
                    break;
            }
        }
        finally
        {
            try { res.Close(); } catch (Exception) { }
        }
    }

    /// <summary>The test's own Adler-32 (deliberately not the engine's), for the Digest header.</summary>
    public static string Adler32Hex(byte[] data)
    {
        uint a = 1, b = 0;
        foreach (var x in data)
        {
            a = (a + x) % 65521;
            b = (b + a) % 65521;
        }
        return ((b << 16) | a).ToString("x8");
    }

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        try { _loop.Wait(2000); } catch (Exception) { }
    }
}
