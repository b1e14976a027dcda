namespace NewLlm.Cli;

/// <summary>
/// The settings of a resumed run: each comes from the checkpoint unless given on the command line; a given one must
/// either agree (what the run is: data, tokenizer, lengths, layers) or is applied and named in <see cref="Changes"/>
/// (how it goes on: epochs, learning rate, ...). Without a checkpoint, the command line's values.
/// </summary>
internal sealed class ResumedSettings(ParseResult parse)
{
    private readonly List<string> _changes = [];

    /// <summary>The settings given that differ from the checkpoint's, as <c>--lr 0.0008 -> 0.0004</c>.</summary>
    public IReadOnlyList<string> Changes => _changes;

    /// <summary>The run's value of <paramref name="option"/>, given the checkpoint's (<paramref name="saved"/>, null when none).</summary>
    public T Get<T>(Option<T> option, object? saved, bool mustAgree, string why) => Get(option, parse.GetValue(option)!, saved, mustAgree, why);

    /// <summary>As the other overload, for a command-line <paramref name="value"/> the program made canonical or chose as the default.</summary>
    /// <param name="option">The option.</param>
    /// <param name="value">The value from the command line.</param>
    /// <param name="saved">The checkpoint's value, or <see langword="null"/> when there is none.</param>
    /// <param name="mustAgree">Whether a different value is refused.</param>
    /// <param name="why">Why it must agree, for the refusal.</param>
    public T Get<T>(Option option, T value, object? saved, bool mustAgree, string why)
    {
        if (saved is not T savedValue)
        {
            return value;
        }

        if (CommandLine.IsImplicit(parse, option))
        {
            return savedValue;
        }

        if (EqualityComparer<T>.Default.Equals(value, savedValue))
        {
            return value;
        }

        if (mustAgree)
        {
            throw new ArgumentException($"{option.Name} {value} differs from the checkpoint's {savedValue}: {why}. Leave {option.Name} out to continue the run, or start a new run in another --output.");
        }

        _changes.Add($"{option.Name} {savedValue} -> {value}");
        return value;
    }
}
