using System.Management.Automation;
using HpcCampaign.Engine.Synchrotron;
using HpcCampaign.Infrastructure;

namespace HpcCampaign.Commands.Synchrotron;

/// <summary>
/// <para type="synopsis">Installs the scheduled sync (or the daily alert) as systemd user units or a Windows scheduled task.</para>
/// Sync: a oneshot service plus timer every -Interval (default sync-frequency-hours), or with -Service a long-running
/// service that runs Sync-SynchrotronEpn -RepeatEvery. Alert: Send-SynchrotronEpnAlert daily at 01:00 (the original's
/// cron line). Files are written to -UnitDirectory (default ~/.config/systemd/user); -Enable then runs
/// systemctl --user daemon-reload and enable --now (schtasks /Create on Windows). -WhatIf shows the files.
/// </summary>
[Cmdlet(VerbsLifecycle.Register, "SynchrotronSync", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(SynchrotronSyncRegistration))]
public sealed class RegisterSynchrotronSyncCommand : HpcCmdlet
{
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ConfigPath { get; set; }

    [Parameter(Position = 0)]
    public SynchrotronTask Task { get; set; } = SynchrotronTask.Sync;

    /// <summary>Default: Systemd on Linux, TaskScheduler on Windows.</summary>
    [Parameter]
    public SynchrotronScheduler? Scheduler { get; set; }

    /// <summary>Run the sync as a long-running service (mxsync style) instead of a timer.</summary>
    [Parameter]
    public SwitchParameter Service { get; set; }

    /// <summary>Time between sync rounds; default sync-frequency-hours of the config.</summary>
    [Parameter]
    public TimeSpan? Interval { get; set; }

    /// <summary>Unit or task name; default hpccampaign-synchrotron-sync / -alert.</summary>
    [Parameter]
    [ValidatePattern("^[A-Za-z0-9_.@-]+$")]
    public string? Name { get; set; }

    /// <summary>Where the unit files (or task XML) are written; default ~/.config/systemd/user.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? UnitDirectory { get; set; }

    /// <summary>The HpcCampaign.psd1 the unit imports; default this module's manifest.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ModulePath { get; set; }

    /// <summary>The PowerShell executable (pwsh, or hpcc); default pwsh found on PATH.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? PowerShellPath { get; set; }

    [Parameter]
    [ValidateRange(1, 64)]
    public int ThrottleLimit { get; set; }

    /// <summary>Activate it now: systemctl --user daemon-reload + enable --now, or schtasks /Create.</summary>
    [Parameter]
    public SwitchParameter Enable { get; set; }

    /// <summary>Replace existing unit files.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void EndProcessing()
    {
        var config = SynchrotronCommon.LoadConfig(new HpcCmdletAccess(ResolveOutputPath, Fail), ConfigPath);
        var scheduler = Scheduler ?? (OperatingSystem.IsWindows() ? SynchrotronScheduler.TaskScheduler : SynchrotronScheduler.Systemd);
        var unitDir = UnitDirectory is null ? SyncRegistration.DefaultUnitDirectory(scheduler) : ResolveOutputPath(UnitDirectory);
        if (unitDir is null) return;
        var module = ModulePath is null ? DefaultManifest() : ResolveOutputPath(ModulePath);
        if (module is null) return;
        var interval = Interval ?? TimeSpan.FromHours(config.SyncFrequencyHours);
        if (interval < TimeSpan.FromMinutes(1))
            Fail(new HpcException("InvalidInterval", HpcErrorKind.InvalidArgument, "-Interval must be at least one minute.", interval));
        if (Service && Task == SynchrotronTask.Alert)
            Fail(new HpcException("ServiceNeedsSync", HpcErrorKind.InvalidArgument, "-Service applies to the sync task; the alert runs daily from a timer.", Task));
        var request = new RegistrationRequest(
            Name ?? "hpccampaign-synchrotron-" + Task.ToString().ToLowerInvariant(), Task, scheduler, Service.IsPresent, interval,
            config.Path!, module, PowerShellPath ?? FindPwsh(), unitDir, ThrottleLimit > 0 ? ThrottleLimit : Math.Clamp(config.MaxTasks, 1, 64));
        SynchrotronSyncRegistration? plan = null;
        if (!TryEngine(() => plan = SyncRegistration.Plan(request), request.Name) || plan is null) return;
        if (!ShouldProcess(string.Join(", ", plan.Files), Enable ? "Write and enable " + plan.Kind : "Write " + plan.Kind))
        {
            if (SynchrotronCommon.WhatIfActive(this)) WriteObject(plan);
            return;
        }
        var enable = Enable.IsPresent;
        var force = Force.IsPresent;
        RunWork((sink, _) =>
        {
            sink.Output(SyncRegistration.Apply(plan, scheduler, enable, force, sink));
            return System.Threading.Tasks.Task.CompletedTask;
        }, request.Name);
    }

    private string DefaultManifest()
    {
        var dll = MyInvocation.MyCommand.Module?.Path ?? typeof(RegisterSynchrotronSyncCommand).Assembly.Location;
        for (var d = new DirectoryInfo(Path.GetDirectoryName(dll)!); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "HpcCampaign.psd1"))) return Path.Combine(d.FullName, "HpcCampaign.psd1");
        return dll;
    }

    private static string FindPwsh()
    {
        var name = OperatingSystem.IsWindows() ? "pwsh.exe" : "pwsh";
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
            if (File.Exists(Path.Combine(dir, name))) return Path.Combine(dir, name);
        return OperatingSystem.IsWindows() ? name : "/usr/bin/pwsh";
    }
}
