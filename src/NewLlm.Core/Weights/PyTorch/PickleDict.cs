namespace NewLlm;

/// <summary>
/// A Python dict (or <c>collections.OrderedDict</c>) read from a pickle: its items in the order they were set, a key
/// set again keeping its first place, as in Python. Integer keys are <see cref="long"/>s, as every pickled integer.
/// </summary>
internal sealed class PickleDict
{
    private readonly Dictionary<object, object?> _items = [];
    private readonly List<object> _order = [];

    /// <summary>The number of items.</summary>
    public int Count => _order.Count;

    /// <summary>The keys in insertion order.</summary>
    public IReadOnlyList<object> Keys => _order;

    /// <summary>The items in insertion order.</summary>
    public IEnumerable<KeyValuePair<object, object?>> Items => _order.Select(k => new KeyValuePair<object, object?>(k, _items[k]));

    /// <summary>The value under <paramref name="key"/>, or null when there is none.</summary>
    public object? this[object key] => _items.TryGetValue(key, out object? value) ? value : null;

    /// <summary>Whether the dict has <paramref name="key"/>.</summary>
    public bool ContainsKey(object key) => _items.ContainsKey(key);

    /// <summary>Sets an item (SETITEM); a None key, which no state dict has, is refused.</summary>
    public void Set(object? key, object? value, int at)
    {
        if (key is null || key is PickleDict or List<object?>)
        {
            throw new InvalidDataException($"data.pkl is malformed at byte {at}: a dict key is {PickleValues.Describe(key)}.");
        }

        if (_items.TryAdd(key, value))
        {
            _order.Add(key);
        }
        else
        {
            _items[key] = value;
        }
    }
}
