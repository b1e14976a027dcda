using System.Text.Json;

namespace NewLlm.Cli;

/// <summary>
/// The run settings a checkpoint recorded (its trainer options and the run configuration newllm train adds: subset, data
/// folder and checksum, tokenizer, sequence length), read leniently: values written as strings by older versions still read.
/// </summary>
internal sealed class CheckpointSettings(JsonObject options)
{
    public T? Get<T>(string key)
        where T : struct, IParsable<T>
    {
        if (options[key] is not JsonValue value)
        {
            return null;
        }

        if (value.GetValueKind() == JsonValueKind.String)
        {
            return T.TryParse(value.GetValue<string>(), CultureInfo.InvariantCulture, out T parsed) ? parsed : null;
        }

        try
        {
            return value.Deserialize<T>();
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public string? GetString(string key) => options[key] is JsonValue value ? value.ToString() : null;
}
