namespace NewLlm.Cli;

/// <summary>Download progress on one console line when interactive; a line per file otherwise.</summary>
internal sealed class ConsoleDownloadProgress(bool interactive) : IProgress<DownloadProgress>
{
    private string? _current;
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

            if (value.FileName != _current)
            {
                Finish();
                _current = value.FileName;
                _lastPercent = -1;
                if (!interactive)
                {
                    Console.WriteLine($"  Downloading {value.FileName}...");
                }
            }

            int percent = value.TotalBytes is long total && total > 0 ? (int)(100 * value.BytesReceived / total) : -1;
            if (interactive && percent != _lastPercent)
            {
                _lastPercent = percent;
                string size = (value.BytesReceived / 1e6).ToString("F1", CultureInfo.InvariantCulture);
                string bar = percent < 0 ? string.Empty : "[" + new string('#', percent / 5).PadRight(20) + $"] {percent,3}% ";
                Console.Write($"\r  Downloading {value.FileName} {bar}{size} MB   ");
            }
        }
    }

    public void Finish()
    {
        lock (this)
        {
            if (_current is not null && interactive)
            {
                Console.WriteLine();
            }

            _current = null;
        }
    }
}
