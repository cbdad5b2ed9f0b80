namespace HpcCampaign;

/// <summary>
/// One experiment (EPN) visit as the facility portal reports it, with where it maps to locally: the project from
/// epn_cap_map, the destination folder {root}/{project}/{epn}/data/, and whether the ignore list already records it.
/// </summary>
public sealed class SynchrotronEpn
{
    public SynchrotronEpn(string epn, int equipment, DateTimeOffset? startTime, DateTimeOffset? endTime, bool finished,
        string? principalScientist, string[] dataScientists, string? project, string? destination, bool synced)
    {
        Epn = epn;
        Equipment = equipment;
        StartTime = startTime;
        EndTime = endTime;
        Finished = finished;
        PrincipalScientist = principalScientist;
        DataScientists = dataScientists;
        Project = project;
        Destination = destination;
        Synced = synced;
    }

    /// <summary>Experiment id, e.g. 12282a: proposal number plus an optional letter suffix.</summary>
    public string Epn { get; }
    /// <summary>Portal equipment (beamline) id the visit belongs to.</summary>
    public int Equipment { get; }
    public DateTimeOffset? StartTime { get; }
    public DateTimeOffset? EndTime { get; }
    /// <summary>True when the visit ended before any current visit began (the original's "previous visit").</summary>
    public bool Finished { get; }
    /// <summary>"First Last &lt;email&gt;" of the principal scientist.</summary>
    public string? PrincipalScientist { get; }
    public string[] DataScientists { get; }
    /// <summary>Project folder from epn_cap_map; null when the EPN number is not mapped.</summary>
    public string? Project { get; }
    /// <summary>Local destination folder; null when unmapped.</summary>
    public string? Destination { get; }
    /// <summary>True when the ignore list (previouslySynched) already holds this EPN.</summary>
    public bool Synced { get; }

    public override string ToString() => Epn;
}
