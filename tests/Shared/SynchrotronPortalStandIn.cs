using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;

namespace HpcCampaign.Tests;

/// <summary>
/// A stand-in for the Australian Synchrotron portal (an external service that cannot run here), following the
/// documented API: POST /api/v1/oauth/token (HTTP Basic client auth, form username/password/grant_type=password →
/// {"data":{"access_token":..}} or {"meta":{"error_message":..}}) and GET /api/v1/equipment/{id}/visits?access_token
/// &amp;start_time&amp;end_time → {"data":{"visits":[..]}} with epn, start_time, end_time, principal_scientist,
/// data_scientists. HttpListener on 127.0.0.1 and a free port.
/// </summary>
public sealed class PortalStandIn : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Task _loop;
    private readonly ConcurrentDictionary<string, byte> _validTokens = new();
    private int _tokenCounter;

    public string ClientName { get; set; } = "hpcc-client";
    public string ClientPassword { get; set; } = "client-secret";
    public string Username { get; set; } = "beamline-user";
    public string Password { get; set; } = "user-secret";
    /// <summary>Visits per equipment id.</summary>
    public ConcurrentDictionary<int, List<Visit>> Visits { get; } = new();
    /// <summary>Answer the next N visit requests with 401 and forget every issued token (forces a re-login).</summary>
    public int ExpireTokensForNextRequests;
    /// <summary>Answer visit requests with HTTP 500.</summary>
    public bool FailVisits { get; set; }
    public int TokenRequests;
    public ConcurrentQueue<string> VisitQueries { get; } = new();
    public string BaseUrl { get; }

    public sealed record Person(string FirstNames, string LastName, string Email);
    public sealed record Visit(string Epn, DateTimeOffset Start, DateTimeOffset End, Person Principal, Person[] Scientists);

    public PortalStandIn()
    {
        for (var attempt = 0; ; attempt++)
        {
            var port = FreePort();
            var prefix = $"http://127.0.0.1:{port}/";
            try
            {
                _listener.Prefixes.Clear();
                _listener.Prefixes.Add(prefix);
                _listener.Start();
                BaseUrl = $"http://127.0.0.1:{port}";
                break;
            }
            catch (HttpListenerException) when (attempt < 5) { }
        }
        _loop = Task.Run(LoopAsync);
    }

    public void AddVisit(int equipment, Visit visit) => Visits.GetOrAdd(equipment, _ => new List<Visit>()).Add(visit);

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext ctx;
            try { ctx = await _listener.GetContextAsync(); }
            catch (Exception) { return; }
            try { Handle(ctx); }
            catch (Exception ex) { Write(ctx.Response, 500, new { meta = new { error_message = ex.Message } }); }
        }
    }

    private void Handle(HttpListenerContext ctx)
    {
        var req = ctx.Request;
        var path = req.Url!.AbsolutePath;
        if (req.HttpMethod == "POST" && path == "/api/v1/oauth/token")
        {
            Interlocked.Increment(ref TokenRequests);
            var auth = req.Headers["Authorization"] ?? "";
            var clientOk = auth.StartsWith("Basic ", StringComparison.Ordinal) &&
                           Encoding.UTF8.GetString(Convert.FromBase64String(auth[6..])) == $"{ClientName}:{ClientPassword}";
            using var reader = new StreamReader(req.InputStream, Encoding.UTF8);
            var form = ParseForm(reader.ReadToEnd());
            if (!clientOk)
            {
                Write(ctx.Response, 401, new { meta = new { error_message = "Client authentication failed" } });
                return;
            }
            if (form.GetValueOrDefault("grant_type") != "password" || form.GetValueOrDefault("username") != Username || form.GetValueOrDefault("password") != Password)
            {
                Write(ctx.Response, 400, new { meta = new { error_message = "The user credentials were incorrect." } });
                return;
            }
            var token = $"tok-{Interlocked.Increment(ref _tokenCounter)}-{Guid.NewGuid():N}";
            _validTokens[token] = 0;
            Write(ctx.Response, 200, new { data = new { access_token = token, token_type = "Bearer", expires_in = 3600 } });
            return;
        }
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (req.HttpMethod == "GET" && parts.Length == 5 && parts[0] == "api" && parts[1] == "v1" && parts[2] == "equipment" && parts[4] == "visits"
            && int.TryParse(parts[3], out var equipment))
        {
            VisitQueries.Enqueue(req.Url.Query);
            if (Interlocked.Decrement(ref ExpireTokensForNextRequests) >= 0)
            {
                _validTokens.Clear();
                Write(ctx.Response, 401, new { meta = new { error_message = "Token expired" } });
                return;
            }
            var token = req.QueryString["access_token"];
            if (token is null || !_validTokens.ContainsKey(token))
            {
                Write(ctx.Response, 401, new { meta = new { error_message = "Invalid token" } });
                return;
            }
            if (FailVisits)
            {
                Write(ctx.Response, 500, new { meta = new { error_message = "Internal Server Error" } });
                return;
            }
            var start = DateTime.Parse(req.QueryString["start_time"]!, CultureInfo.InvariantCulture);
            var end = DateTime.Parse(req.QueryString["end_time"]!, CultureInfo.InvariantCulture);
            var list = Visits.TryGetValue(equipment, out var v) ? v.ToList() : new List<Visit>();
            var visits = list.Where(x => x.Start.LocalDateTime < end && x.End.LocalDateTime > start).Select(x => new Dictionary<string, object>
            {
                ["id"] = Math.Abs(x.Epn.GetHashCode()),
                ["epn"] = x.Epn,
                ["start_time"] = x.Start.ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture),
                ["end_time"] = x.End.ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture),
                ["principal_scientist"] = PersonJson(x.Principal),
                ["data_scientists"] = x.Scientists.Select(PersonJson).ToArray(),
            }).ToArray();
            Write(ctx.Response, 200, new { data = new { visits } });
            return;
        }
        Write(ctx.Response, 404, new { meta = new { error_message = "Not found" } });
    }

    private static Dictionary<string, string> PersonJson(Person p) =>
        new() { ["first_names"] = p.FirstNames, ["last_name"] = p.LastName, ["email"] = p.Email };

    private static Dictionary<string, string> ParseForm(string body)
    {
        var result = new Dictionary<string, string>();
        foreach (var pair in body.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var i = pair.IndexOf('=');
            if (i > 0) result[WebUtility.UrlDecode(pair[..i])] = WebUtility.UrlDecode(pair[(i + 1)..]);
        }
        return result;
    }

    private static void Write(HttpListenerResponse response, int status, object body)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(body);
        response.StatusCode = status;
        response.ContentType = "application/json";
        response.ContentLength64 = bytes.Length;
        response.OutputStream.Write(bytes);
        response.Close();
    }

    private static int FreePort()
    {
        var l = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        l.Start();
        var port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        try { _loop.Wait(2000); } catch (AggregateException) { }
    }
}
