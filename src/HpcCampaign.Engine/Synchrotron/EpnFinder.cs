namespace HpcCampaign.Engine.Synchrotron;

/// <summary>
/// Finds EPN visits through the portal the way mxsync does: the current visits (now .. now+1h) fix a cut-off (the
/// earliest current start, never later than now); previous visits are those in [cut-off − visit-day-range days,
/// cut-off] that ended before the cut-off.
/// </summary>
public sealed class EpnFinder
{
    private readonly SynchrotronConfig _config;
    private readonly HttpClient _http;

    public EpnFinder(SynchrotronConfig config, HttpClient http)
    {
        _config = config;
        _http = http;
    }

    /// <summary>Credentials that replace the config's for every equipment entry (null: keep the config's).</summary>
    public (string User, string Password)? UserOverride { get; init; }
    public (string Client, string Secret)? ClientOverride { get; init; }

    /// <summary>
    /// Visits of every equipment entry. A failing equipment (login refused, portal error) is reported to the sink
    /// and the others go on. <paramref name="includeCurrent"/> adds visits still running.
    /// </summary>
    public async Task<List<SynchrotronEpn>> FindAsync(IHpcSink sink, bool includeCurrent, CancellationToken ct, DateTimeOffset? now = null)
    {
        var baseUrl = _config.Require(_config.BaseUrl, "base-url");
        if (_config.Equipment.Count == 0)
            throw new HpcException("ConfigKeyMissing", HpcErrorKind.InvalidData, $"'{_config.Path}' lists no equipment.", _config.Path);
        var at = now ?? DateTimeOffset.Now;
        var clients = _config.Equipment.Select(e => new PortalClient(_http, baseUrl, Apply(e))).ToList();
        var current = new List<PortalVisit>();
        var working = new List<PortalClient>();
        foreach (var client in clients)
        {
            try
            {
                sink.Verbose($"Portal {baseUrl}: current visits of equipment {client.EquipmentId}");
                current.AddRange(await client.GetVisitsAsync(at, at.AddHours(1), ct).ConfigureAwait(false));
                working.Add(client);
            }
            catch (HpcException ex)
            {
                sink.Error(ex);
            }
        }
        var cutoff = current.Where(v => v.StartTime is not null).Select(v => v.StartTime!.Value).DefaultIfEmpty(at).Min();
        if (cutoff > at) cutoff = at;

        var ignored = _config.IgnorePath is { } ip ? new IgnoreList(ip).Read() : new HashSet<string>();
        var result = new List<SynchrotronEpn>();
        var seen = new HashSet<(string, int)>();
        foreach (var client in working)
        {
            IReadOnlyList<PortalVisit> previous;
            try
            {
                sink.Verbose($"Portal {baseUrl}: visits of equipment {client.EquipmentId} from {cutoff.AddDays(-_config.VisitDayRange):u} to {cutoff:u}");
                previous = await client.GetVisitsAsync(cutoff.AddDays(-_config.VisitDayRange), cutoff, ct).ConfigureAwait(false);
            }
            catch (HpcException ex)
            {
                sink.Error(ex);
                continue;
            }
            foreach (var v in previous)
            {
                var finished = v.EndTime is { } end && end < cutoff;
                if (!finished && !includeCurrent) continue;
                if (seen.Add((v.Epn, v.Equipment))) result.Add(ToEpn(v, finished, ignored));
            }
        }
        if (includeCurrent)
            foreach (var v in current)
                if (seen.Add((v.Epn, v.Equipment))) result.Add(ToEpn(v, false, ignored));
        return result;
    }

    /// <summary>Visits in [now − visit-day-range, now] per equipment, for the alert (no cut-off logic, like epnalert).</summary>
    public async Task<List<PortalVisit>> RecentVisitsAsync(IHpcSink sink, CancellationToken ct)
    {
        var baseUrl = _config.Require(_config.BaseUrl, "base-url");
        var now = DateTimeOffset.Now;
        var visits = new List<PortalVisit>();
        foreach (var e in _config.Equipment)
        {
            try
            {
                var client = new PortalClient(_http, baseUrl, Apply(e));
                visits.AddRange(await client.GetVisitsAsync(now.AddDays(-_config.VisitDayRange), now, ct).ConfigureAwait(false));
            }
            catch (HpcException ex)
            {
                sink.Error(ex);
            }
        }
        return visits;
    }

    private EquipmentLogin Apply(EquipmentLogin e)
    {
        var login = e;
        if (UserOverride is { } u) login = login with { Username = u.User, Password = u.Password };
        if (ClientOverride is { } c) login = login with { ClientName = c.Client, ClientPassword = c.Secret };
        return login;
    }

    private SynchrotronEpn ToEpn(PortalVisit v, bool finished, HashSet<string> ignored)
    {
        string? project = null, destination = null;
        if (EpnName.IsValid(v.Epn))
        {
            project = EpnName.ProjectOf(_config, v.Epn);
            if (project is not null && _config.DestinationRootPath is not null) destination = _config.DestinationFor(project, v.Epn);
        }
        return new SynchrotronEpn(v.Epn, v.Equipment, v.StartTime, v.EndTime, finished, v.PrincipalScientist?.ToString(),
            v.DataScientists.Select(p => p.ToString()).ToArray(), project, destination, ignored.Contains(v.Epn));
    }
}
