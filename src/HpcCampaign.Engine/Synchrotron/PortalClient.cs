using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace HpcCampaign.Engine.Synchrotron;

/// <summary>A visit as the portal returns it (only the fields the original reads).</summary>
public sealed record PortalVisit(string Epn, int Equipment, DateTimeOffset? StartTime, DateTimeOffset? EndTime,
    PortalPerson? PrincipalScientist, IReadOnlyList<PortalPerson> DataScientists);

public sealed record PortalPerson(string FirstNames, string LastName, string Email)
{
    public override string ToString() => $"{FirstNames} {LastName} <{Email}>".Trim();
}

/// <summary>
/// Australian Synchrotron portal API for one equipment entry: OAuth2 password grant with HTTP Basic client auth
/// (POST /api/v1/oauth/token), visits with the token as access_token query parameter; one re-login on 401.
/// Tokens and passwords are never logged.
/// </summary>
public sealed class PortalClient
{
    private readonly HttpClient _http;
    private readonly string _baseUrl;
    private readonly EquipmentLogin _login;
    private string? _token;

    public PortalClient(HttpClient http, string baseUrl, EquipmentLogin login)
    {
        _http = http;
        _baseUrl = baseUrl.TrimEnd('/');
        _login = login;
    }

    public int EquipmentId => _login.Id;

    public async Task LoginAsync(CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, _baseUrl + "/api/v1/oauth/token");
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic",
            Convert.ToBase64String(Encoding.UTF8.GetBytes($"{_login.ClientName}:{_login.ClientPassword}")));
        request.Content = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["username"] = _login.Username,
            ["password"] = _login.Password,
            ["grant_type"] = "password",
        });
        using var response = await SendAsync(request, ct).ConfigureAwait(false);
        var body = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
        JsonElement root = default;
        var parsed = TryParse(body, out root);
        if (parsed && root.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Object &&
            data.TryGetProperty("access_token", out var tok) && tok.ValueKind == JsonValueKind.String && tok.GetString() is { Length: > 0 } token)
        {
            _token = token;
            return;
        }
        _token = null;
        var detail = parsed && root.TryGetProperty("meta", out var meta) && meta.ValueKind == JsonValueKind.Object &&
                     meta.TryGetProperty("error_message", out var em) ? em.ToString() : $"HTTP {(int)response.StatusCode}";
        if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden or HttpStatusCode.BadRequest || (response.IsSuccessStatusCode && parsed))
            throw new HpcException("PortalAuthenticationFailed", HpcErrorKind.AuthenticationError,
                $"The portal refused the login for equipment {_login.Id} ({detail}). Check username/password and client_name/client_password.",
                _login.Id);
        throw new HpcException("PortalRequestFailed", HpcErrorKind.ResourceUnavailable,
            $"The portal token request for equipment {_login.Id} failed: {detail}.", _login.Id);
    }

    /// <summary>Visits of this equipment between two times (sent as naive local ISO-8601, as the original does).</summary>
    public async Task<IReadOnlyList<PortalVisit>> GetVisitsAsync(DateTimeOffset start, DateTimeOffset end, CancellationToken ct)
    {
        if (_token is null) await LoginAsync(ct).ConfigureAwait(false);
        for (var attempt = 0; ; attempt++)
        {
            var url = $"{_baseUrl}/api/v1/equipment/{_login.Id}/visits?access_token={Uri.EscapeDataString(_token!)}" +
                      $"&start_time={Uri.EscapeDataString(Iso(start))}&end_time={Uri.EscapeDataString(Iso(end))}";
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            using var response = await SendAsync(request, ct).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.Unauthorized && attempt == 0)
            {
                await LoginAsync(ct).ConfigureAwait(false);
                continue;
            }
            if (response.StatusCode == HttpStatusCode.Unauthorized)
                throw new HpcException("PortalAuthenticationFailed", HpcErrorKind.AuthenticationError,
                    $"The portal rejected a fresh token for equipment {_login.Id} visits.", _login.Id);
            var body = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
                throw new HpcException("PortalRequestFailed", HpcErrorKind.ResourceUnavailable,
                    $"The portal answered HTTP {(int)response.StatusCode} for equipment {_login.Id} visits.", _login.Id);
            if (!TryParse(body, out var root) || !root.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Object ||
                !data.TryGetProperty("visits", out var visits) || visits.ValueKind != JsonValueKind.Array)
                throw new HpcException("PortalResponseInvalid", HpcErrorKind.InvalidData,
                    $"The portal's visits answer for equipment {_login.Id} has no data.visits list.", _login.Id);
            var result = new List<PortalVisit>();
            foreach (var v in visits.EnumerateArray())
                if (ParseVisit(v) is { } visit) result.Add(visit);
            return result;
        }
    }

    private PortalVisit? ParseVisit(JsonElement v)
    {
        if (v.ValueKind != JsonValueKind.Object || !v.TryGetProperty("epn", out var epnEl)) return null;
        var epn = epnEl.ValueKind == JsonValueKind.String ? epnEl.GetString() : epnEl.ToString();
        if (string.IsNullOrWhiteSpace(epn)) return null;
        var scientists = new List<PortalPerson>();
        if (v.TryGetProperty("data_scientists", out var ds) && ds.ValueKind == JsonValueKind.Array)
            foreach (var p in ds.EnumerateArray())
                if (Person(p) is { } person) scientists.Add(person);
        return new PortalVisit(epn.Trim(), _login.Id, Time(v, "start_time"), Time(v, "end_time"),
            v.TryGetProperty("principal_scientist", out var ps) ? Person(ps) : null, scientists);
    }

    private static PortalPerson? Person(JsonElement p)
    {
        if (p.ValueKind != JsonValueKind.Object) return null;
        string S(string k) => p.TryGetProperty(k, out var e) && e.ValueKind == JsonValueKind.String ? e.GetString() ?? "" : "";
        return new PortalPerson(S("first_names"), S("last_name"), S("email"));
    }

    private static DateTimeOffset? Time(JsonElement v, string key) =>
        v.TryGetProperty(key, out var e) && e.ValueKind == JsonValueKind.String &&
        DateTimeOffset.TryParse(e.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeLocal, out var t) ? t : null;

    internal static string Iso(DateTimeOffset t) => t.ToLocalTime().DateTime.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture);

    private static bool TryParse(string body, out JsonElement root)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            root = doc.RootElement.Clone();
            return root.ValueKind == JsonValueKind.Object;
        }
        catch (JsonException)
        {
            root = default;
            return false;
        }
    }

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
    {
        try
        {
            return await _http.SendAsync(request, ct).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            throw new HpcException("PortalUnreachable", HpcErrorKind.ConnectionError,
                $"Cannot reach the portal at {_baseUrl}: {ex.Message}", _baseUrl, ex);
        }
        catch (TaskCanceledException ex) when (!ct.IsCancellationRequested)
        {
            throw new HpcException("PortalTimeout", HpcErrorKind.OperationTimeout, $"The portal at {_baseUrl} did not answer in time.", _baseUrl, ex);
        }
    }
}
