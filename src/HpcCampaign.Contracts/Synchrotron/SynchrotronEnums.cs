namespace HpcCampaign;

/// <summary>Which job Register-SynchrotronSync schedules.</summary>
public enum SynchrotronTask
{
    /// <summary>Sync-SynchrotronEpn (mxsync).</summary>
    Sync,
    /// <summary>Send-SynchrotronEpnAlert once a day (epnalert's cron job).</summary>
    Alert,
}

/// <summary>Where the schedule lives.</summary>
public enum SynchrotronScheduler
{
    /// <summary>systemd user units (Linux).</summary>
    Systemd,
    /// <summary>Windows Task Scheduler (task XML, registered with schtasks).</summary>
    TaskScheduler,
}
