namespace HpcCampaign;

/// <summary>A scheduled run or service that Register-SynchrotronSync wrote (or, with -WhatIf, would write).</summary>
public sealed class SynchrotronSyncRegistration
{
    public SynchrotronSyncRegistration(string name, string kind, string task, string schedule, string command,
        string[] files, bool enabled, string[] contents)
    {
        Name = name;
        Kind = kind;
        Task = task;
        Schedule = schedule;
        Command = command;
        Files = files;
        Enabled = enabled;
        Contents = contents;
    }

    /// <summary>Unit or task name, e.g. hpccampaign-synchrotron-sync.</summary>
    public string Name { get; }
    /// <summary>SystemdService, SystemdTimer or ScheduledTask.</summary>
    public string Kind { get; }
    /// <summary>Sync or Alert.</summary>
    public string Task { get; }
    /// <summary>Human-readable schedule (every 6h, daily at 01:00, continuous service).</summary>
    public string Schedule { get; }
    /// <summary>The command line the unit or task runs.</summary>
    public string Command { get; }
    /// <summary>Files written (unit files or the task XML).</summary>
    public string[] Files { get; }
    /// <summary>True when systemctl/schtasks was run to enable it.</summary>
    public bool Enabled { get; }
    /// <summary>The text of each file, in the order of <see cref="Files"/>.</summary>
    public string[] Contents { get; }

    public override string ToString() => Name;
}
