namespace NewLlm.Cli;

/// <summary>
/// Downloads (a file at a time) and the preparation of a corpus (counting, vocabulary, tokenizing: a stage at a time) on
/// one console line when interactive. When the output is redirected (CI, nohup, a pipe), a line per file or stage, and
/// the progress of each (bytes, rows, a training epoch's batches) on standard error as a line every
/// <see cref="LineInterval"/>, so that the standard output keeps the original's lines; on a terminal the
/// <see cref="ConsoleReporter"/>'s live batch counter shows training's.
/// </summary>
internal sealed class ConsoleProgress(bool interactive) : IProgress<DownloadProgress>, IProgress<CorpusProgress>, IProgress<TrainingProgress>
{
    public static readonly TimeSpan LineInterval = TimeSpan.FromSeconds(10);

    private long _lastLine = System.Diagnostics.Stopwatch.GetTimestamp();

    private string? _item;
    private bool _lineOpen;
    private int _lastPercent = -1;

    public void Report(DownloadProgress value)
    {
        lock (this)
        {
            if (value.Retry is DownloadRetry retry)
            {
                Finish();
                Console.WriteLine($"  {retry}");
                return;
            }

            Start(value.FileName, $"Downloading {value.FileName}...");
            int percent = value.TotalBytes is long total && total > 0 ? (int)(100 * value.BytesReceived / total) : -1;
            if (!interactive)
            {
                Every(LineInterval, string.Create(CultureInfo.InvariantCulture, $"{value.FileName}: {value.BytesReceived / 1e6:F1} MB") + (percent < 0 ? string.Empty : $" ({percent}%)"));
            }
            else if (percent != _lastPercent)
            {
                _lastPercent = percent;
                string size = (value.BytesReceived / 1e6).ToString("F1", CultureInfo.InvariantCulture);
                string bar = percent < 0 ? string.Empty : "[" + new string('#', percent / 5).PadRight(20) + $"] {percent,3}% ";
                Console.Write($"\r  Downloading {value.FileName} {bar}{size} MB   ");
            }
        }
    }

    public void Report(CorpusProgress value)
    {
        lock (this)
        {
            Start(value.Stage, $"{char.ToUpperInvariant(value.Stage[0])}{value.Stage[1..]}...");
            string total = value.TotalRows is long all ? string.Create(CultureInfo.InvariantCulture, $" of {all:N0}") : string.Empty;
            string rows = string.Create(CultureInfo.InvariantCulture, $"{value.Stage}: {value.Rows:N0}{total} rows");
            if (interactive)
            {
                Console.Write($"\r  {rows}   ");
            }
            else
            {
                Every(LineInterval, rows);
            }
        }
    }

    public void Report(TrainingProgress value)
    {
        if (!interactive && value.Batch < value.Batches)
        {
            lock (this)
            {
                Every(LineInterval, value.ToString());
            }
        }
    }

    /// <summary>Ends the progress line.</summary>
    public void Finish()
    {
        lock (this)
        {
            if (_lineOpen)
            {
                Console.WriteLine();
            }

            (_item, _lineOpen) = (null, false);
        }
    }

    // When redirected: the line on standard error, at most once per interval.
    private void Every(TimeSpan interval, string line)
    {
        if (System.Diagnostics.Stopwatch.GetElapsedTime(_lastLine) >= interval)
        {
            _lastLine = System.Diagnostics.Stopwatch.GetTimestamp();
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  [{DateTime.Now:HH:mm:ss}] {line}"));
        }
    }

    // A new file or stage: ends the line of the one before; names it on a line of its own when not interactive.
    private void Start(string item, string announcement)
    {
        if (item != _item)
        {
            Finish();
            (_item, _lineOpen, _lastPercent) = (item, interactive, -1);
            if (!interactive)
            {
                Console.WriteLine($"  {announcement}");
            }
        }
    }
}
