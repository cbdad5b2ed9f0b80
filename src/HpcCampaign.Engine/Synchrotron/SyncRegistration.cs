using System.Globalization;
using System.Security;
using System.Text;
using HpcCampaign.Engine.Common;

namespace HpcCampaign.Engine.Synchrotron;

/// <summary>What to schedule and how.</summary>
public sealed record RegistrationRequest(
    string Name,
    SynchrotronTask Task,
    SynchrotronScheduler Scheduler,
    bool AsService,
    TimeSpan Interval,
    string ConfigPath,
    string ModuleManifest,
    string PowerShellPath,
    string UnitDirectory,
    int ThrottleLimit);

/// <summary>
/// Writes systemd user units (a long-running service with -RepeatEvery, or a oneshot service plus timer) or a
/// Windows Task Scheduler XML, and optionally enables them (systemctl --user / schtasks). Preview does nothing.
/// </summary>
public static class SyncRegistration
{
    public static string DefaultUnitDirectory(SynchrotronScheduler scheduler) => scheduler == SynchrotronScheduler.Systemd
        ? ServiceManager.SystemdUserDirectory
        : Path.Combine(Config.ConfigPaths.StateDirectory, "scheduled-tasks");

    public static string PowerShellCommand(RegistrationRequest r, bool repeat)
    {
        var sb = new StringBuilder($"Import-Module {ServiceManager.PsQuote(r.ModuleManifest)}; ");
        if (r.Task == SynchrotronTask.Alert)
            sb.Append($"Send-SynchrotronEpnAlert -ConfigPath {ServiceManager.PsQuote(r.ConfigPath)}");
        else
        {
            sb.Append($"Sync-SynchrotronEpn -ConfigPath {ServiceManager.PsQuote(r.ConfigPath)} -ThrottleLimit {r.ThrottleLimit}");
            if (repeat) sb.Append($" -RepeatEvery {ServiceManager.PsQuote(r.Interval.ToString("c", CultureInfo.InvariantCulture))}");
        }
        return sb.ToString();
    }

    public static SynchrotronSyncRegistration Plan(RegistrationRequest r)
    {
        var files = new List<(string Path, string Text)>();
        string kind, schedule, command;
        if (r.Scheduler == SynchrotronScheduler.Systemd)
        {
            var repeat = r.Task == SynchrotronTask.Sync && r.AsService;
            var ps = PowerShellCommand(r, repeat);
            command = $"{r.PowerShellPath} -NoProfile -NonInteractive -Command \"{ps}\"";
            var service = new StringBuilder()
                .Append("[Unit]\n")
                .Append(r.Task == SynchrotronTask.Alert ? "Description=HpcCampaign synchrotron alert on unmapped EPNs (epnalert)\n" : "Description=HpcCampaign synchrotron EPN sync (mxsync)\n")
                .Append("Wants=network-online.target\nAfter=network-online.target\n\n[Service]\n")
                .Append(repeat ? "Type=simple\nRestart=on-failure\nRestartSec=60\n" : "Type=oneshot\n")
                .Append("ExecStart=").Append(SystemdEscape(command)).Append('\n')
                .Append("KillSignal=SIGINT\nTimeoutStopSec=120\n");
            if (repeat) service.Append("\n[Install]\nWantedBy=default.target\n");
            files.Add((Path.Combine(r.UnitDirectory, r.Name + ".service"), service.ToString()));
            if (repeat)
            {
                kind = "SystemdService";
                schedule = $"service, a round every {Describe(r.Interval)}";
            }
            else
            {
                kind = "SystemdTimer";
                var timer = new StringBuilder("[Unit]\nDescription=Schedule of ").Append(r.Name).Append("\n\n[Timer]\n");
                if (r.Task == SynchrotronTask.Alert)
                {
                    timer.Append("OnCalendar=*-*-* 01:00:00\n");
                    schedule = "daily at 01:00";
                }
                else
                {
                    timer.Append("OnBootSec=5min\nOnUnitActiveSec=").Append((long)r.Interval.TotalSeconds).Append("s\n");
                    schedule = $"every {Describe(r.Interval)}";
                }
                timer.Append("Persistent=true\nUnit=").Append(r.Name).Append(".service\n\n[Install]\nWantedBy=timers.target\n");
                files.Add((Path.Combine(r.UnitDirectory, r.Name + ".timer"), timer.ToString()));
            }
        }
        else
        {
            kind = "ScheduledTask";
            var ps = PowerShellCommand(r, false);
            var args = $"-NoProfile -NonInteractive -Command \"{ps}\"";
            command = $"{r.PowerShellPath} {args}";
            var start = DateTime.Today.AddHours(1).ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture);
            var trigger = r.Task == SynchrotronTask.Alert
                ? $"<CalendarTrigger><StartBoundary>{start}</StartBoundary><ScheduleByDay><DaysInterval>1</DaysInterval></ScheduleByDay></CalendarTrigger>"
                : $"<TimeTrigger><StartBoundary>{start}</StartBoundary><Repetition><Interval>{IsoDuration(r.Interval)}</Interval></Repetition></TimeTrigger>";
            schedule = r.Task == SynchrotronTask.Alert ? "daily at 01:00" : $"every {Describe(r.Interval)}";
            var xml = "<?xml version=\"1.0\" encoding=\"UTF-16\"?>\n" +
                      "<Task version=\"1.2\" xmlns=\"http://schemas.microsoft.com/windows/2004/02/mit/task\">\n" +
                      $"  <RegistrationInfo><Description>HpcCampaign synchrotron {r.Task.ToString().ToLowerInvariant()}</Description></RegistrationInfo>\n" +
                      $"  <Triggers>{trigger}</Triggers>\n" +
                      "  <Settings><MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy><StartWhenAvailable>true</StartWhenAvailable>" +
                      "<ExecutionTimeLimit>PT0S</ExecutionTimeLimit></Settings>\n" +
                      $"  <Actions Context=\"Author\"><Exec><Command>{SecurityElement.Escape(r.PowerShellPath)}</Command><Arguments>{SecurityElement.Escape(args)}</Arguments></Exec></Actions>\n" +
                      "</Task>\n";
            files.Add((Path.Combine(r.UnitDirectory, r.Name + ".xml"), xml));
        }
        return new SynchrotronSyncRegistration(r.Name, kind, r.Task.ToString(), schedule, command,
            files.Select(f => f.Path).ToArray(), false, files.Select(f => f.Text).ToArray());
    }

    /// <summary>Writes the planned files (atomically) and, with <paramref name="enable"/>, activates them.</summary>
    public static SynchrotronSyncRegistration Apply(SynchrotronSyncRegistration plan, SynchrotronScheduler scheduler, bool enable, bool force, IHpcSink sink)
    {
        foreach (var path in plan.Files)
            if (File.Exists(path) && !force)
                throw new HpcException("RegistrationExists", HpcErrorKind.ResourceExists, $"'{path}' already exists; use -Force to replace it.", path);
        for (var i = 0; i < plan.Files.Length; i++)
        {
            if (plan.Files[i].EndsWith(".xml", StringComparison.Ordinal))
                AtomicFile.Write(plan.Files[i], s => { var b = Encoding.Unicode.GetPreamble().Concat(Encoding.Unicode.GetBytes(plan.Contents[i])).ToArray(); s.Write(b); });
            else AtomicFile.WriteAllText(plan.Files[i], plan.Contents[i]);
            sink.Verbose($"Wrote {plan.Files[i]}");
        }
        if (!enable) return plan;
        if (scheduler == SynchrotronScheduler.Systemd)
        {
            Run("systemctl", new[] { "--user", "daemon-reload" });
            var unit = plan.Kind == "SystemdTimer" ? plan.Name + ".timer" : plan.Name + ".service";
            Run("systemctl", new[] { "--user", "enable", "--now", unit });
        }
        else Run("schtasks", new[] { "/Create", "/TN", plan.Name, "/XML", plan.Files[0], "/F" });
        return new SynchrotronSyncRegistration(plan.Name, plan.Kind, plan.Task, plan.Schedule, plan.Command, plan.Files, true, plan.Contents);
    }

    private static void Run(string exe, string[] args) => ServiceManager.Run(exe, args, "RegistrationFailed");

    /// <summary>systemd: % is a specifier (doubled), \ an escape (doubled); the line is already quoted for its word splitting.</summary>
    private static string SystemdEscape(string s) => ServiceManager.SystemdEscapePercent(s).Replace("\\", "\\\\");

    private static string Describe(TimeSpan t) => t.TotalHours >= 1 && t.TotalHours % 1 == 0 ? $"{t.TotalHours:0}h" : $"{t.TotalMinutes:0}min";

    private static string IsoDuration(TimeSpan t) => System.Xml.XmlConvert.ToString(t);
}
