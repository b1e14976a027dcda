namespace NewLlm;

/// <summary>
/// A Python dict (or <c>collections.OrderedDict</c>) read from a pickle: its items in the order they were set, a key
/// set again keeping its first place, as in Python. Integer keys are <see cref="long"/>s, as every pickled integer.
/// </summary>
internal sealed class PickleDict : OrderedDictionary<object, object?>
{
    /// <summary>The value under <paramref name="key"/>, or null when there is none.</summary>
    public new object? this[object key] => TryGetValue(key, out object? value) ? value : null;

    /// <summary>Sets an item (SETITEM); a None key, which no state dict has, is refused.</summary>
    public void Set(object? key, object? value, int at)
    {
        if (key is null || key is PickleDict or List<object?>)
        {
            throw new InvalidDataException($"data.pkl is malformed at byte {at}: a dict key is {PickleValues.Describe(key)}.");
        }

        base[key] = value;
    }
}
