using System.Collections.ObjectModel;
using System.Management.Automation;
using System.Management.Automation.Runspaces;

namespace HpcCampaign.Host;

internal sealed class ScriptRunner
{
    private readonly Runspace _runspace;
    private readonly ConsoleHost _host;
    private PowerShell? _current;

    public ScriptRunner(Runspace runspace, ConsoleHost host)
    {
        _runspace = runspace;
        _host = host;
        Console.CancelKeyPress += (_, e) =>
        {
            var ps = _current;
            if (ps is null) return;
            e.Cancel = true;          // stop the pipeline, keep the host
            ps.BeginStop(null, null);
        };
    }

    public int RunCommand(string script) => Run(ps => ps.AddScript(script));

    public int RunFile(string file, List<string> args)
    {
        var full = Path.GetFullPath(file);
        if (!File.Exists(full))
        {
            Console.Error.WriteLine($"hpcc: script '{file}' not found.");
            return 1;
        }
        return Run(ps =>
        {
            ps.AddCommand(full);
            foreach (var a in args) ps.AddArgument(a);
        });
    }

    public int Interactive()
    {
        Console.WriteLine("hpcc — HpcCampaign on PowerShell " + typeof(PSObject).Assembly.GetName().Version + ". Type 'exit' to leave.");
        var code = 0;
        while (!_host.ShouldExit)
        {
            Console.Write($"HPCC {_runspace.SessionStateProxy.Path.CurrentLocation}> ");
            var line = Console.ReadLine();
            if (line is null) break;
            if (string.IsNullOrWhiteSpace(line)) continue;
            code = RunCommand(line);
        }
        return _host.ShouldExit ? _host.ExitCode : code;
    }

    private int Run(Action<PowerShell> build)
    {
        using var ps = PowerShell.Create();
        ps.Runspace = _runspace;
        build(ps);
        ps.AddCommand("Out-Default");
        ps.Commands.Commands[0].MergeMyResults(PipelineResultTypes.Error, PipelineResultTypes.Output);
        _current = ps;
        var failed = false;
        try
        {
            ps.Invoke();
            failed = ps.HadErrors;
        }
        catch (RuntimeException ex) when (ex is not PipelineStoppedException)
        {
            _host.WriteErrorRecord(ex.ErrorRecord);
            failed = true;
        }
        catch (PipelineStoppedException)
        {
            failed = true;
        }
        finally
        {
            _current = null;
        }
        if (_host.ShouldExit) return _host.ExitCode;
        return failed ? 1 : 0;
    }
}
