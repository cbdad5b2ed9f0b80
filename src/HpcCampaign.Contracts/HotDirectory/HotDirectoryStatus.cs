namespace HpcCampaign;

/// <summary>One row of Get-HotDirectoryStatus: a component (watch or sender) of a hot directory, with sr3-status figures.</summary>
public sealed class HotDirectoryStatus
{
    public HotDirectoryStatus(string name, string component, string state, int running, int expected)
    {
        Name = name;
        Component = component;
        State = state;
        Running = running;
        Expected = expected;
    }

    public string Name { get; }
    /// <summary>watch or sender.</summary>
    public string Component { get; }
    /// <summary>run, stop, part, miss, hung, rtry, lag, reje, idle (sr3 status words).</summary>
    public string State { get; }
    public int Running { get; }
    public int Expected { get; }
    public string Processes => $"{Running}/{Expected}";
    /// <summary>Messages waiting in the queue (broker or embedded); null when unknown.</summary>
    public long? QueueDepth { get; init; }
    /// <summary>Messages waiting for a retry after a failed attempt.</summary>
    public long Retry { get; init; }
    public long DeadLetters { get; init; }
    /// <summary>Largest and mean lag in seconds (sender: now − pubTime at receipt; watch: post time − file mtime).</summary>
    public double LagMax { get; init; }
    public double LagAvg { get; init; }
    public DateTimeOffset? LastTransfer { get; init; }
    /// <summary>Time since the last transfer (else the last activity); null when nothing happened yet.</summary>
    public TimeSpan? SinceLast { get; init; }
    public double RejectedPercent { get; init; }
    public double MessagesPerSecond { get; init; }
    public double FilesPerSecond { get; init; }
    public double BytesInPerSecond { get; init; }
    public double BytesOutPerSecond { get; init; }
    /// <summary>Percent of the time connected to the broker (msg) and with an open SFTP session (data).</summary>
    public int BrokerConnectedPercent { get; init; }
    public int TransferConnectedPercent { get; init; }
    /// <summary>Files posted (watch) or delivered (sender) since the process started.</summary>
    public long TotalFiles { get; init; }
    public long TotalBytes { get; init; }
    public string StateDirectory { get; init; } = "";
    public override string ToString() => $"{Name}/{Component}";
}

/// <summary>A message that failed MaxAttempts times (Get-HotDirectoryDeadLetter); Restore-HotDirectoryDeadLetter requeues it.</summary>
public sealed class HotDirectoryDeadLetter
{
    public HotDirectoryDeadLetter(string name, long id, string relPath, int attempts, string lastError, DateTimeOffset enqueued, string message)
    {
        Name = name;
        Id = id;
        RelPath = relPath;
        Attempts = attempts;
        LastError = lastError;
        Enqueued = enqueued;
        Message = message;
    }

    public string Name { get; }
    public long Id { get; }
    public string RelPath { get; }
    public int Attempts { get; }
    public string LastError { get; }
    public DateTimeOffset Enqueued { get; }
    /// <summary>The v03 message JSON.</summary>
    public string Message { get; }
    public string StateDirectory { get; init; } = "";
    public override string ToString() => $"{Id}: {RelPath}";
}

/// <summary>What Register-HotDirectory wrote (or, with -WhatIf, would write).</summary>
public sealed class HotDirectoryRegistration
{
    public HotDirectoryRegistration(string name, string kind, string path, string text, string note)
    {
        Name = name;
        Kind = kind;
        Path = path;
        Text = text;
        Note = note;
    }

    public string Name { get; }
    /// <summary>systemd-user or scheduled-task.</summary>
    public string Kind { get; }
    /// <summary>The unit file (or task XML) path.</summary>
    public string Path { get; }
    public string Text { get; }
    public string Note { get; }
    public override string ToString() => Path;
}
