namespace NewLlm.Cli;

/// <summary>The preparation of a corpus (counting, vocabulary, tokenizing) on one console line when interactive; a line per stage otherwise.</summary>
internal sealed class ConsoleCorpusProgress(bool interactive) : IProgress<CorpusProgress>
{
    private string? _stage;
    private bool _lineOpen;

    public void Report(CorpusProgress value)
    {
        lock (this)
        {
            if (value.Stage != _stage)
            {
                Finish();
                _stage = value.Stage;
                if (!interactive)
                {
                    Console.WriteLine($"  {char.ToUpperInvariant(value.Stage[0])}{value.Stage[1..]}...");
                }
            }

            if (interactive)
            {
                string total = value.TotalRows is long all ? string.Create(CultureInfo.InvariantCulture, $" of {all:N0}") : string.Empty;
                Console.Write(string.Create(CultureInfo.InvariantCulture, $"\r  {value.Stage}: {value.Rows:N0}{total} rows   "));
                _lineOpen = true;
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
                _lineOpen = false;
            }
        }
    }
}
