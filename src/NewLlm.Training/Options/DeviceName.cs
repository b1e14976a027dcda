namespace NewLlm.Training;

/// <summary>Parses device names ("cpu", "cuda", "cuda:N") and checks that the device exists.</summary>
public static class DeviceName
{
    /// <summary>Parses a device name.</summary>
    /// <param name="name">"cpu", "cuda" or "cuda:N".</param>
    /// <param name="type">The device type.</param>
    /// <param name="index">The CUDA device index (-1 for "cpu" and "cuda").</param>
    public static bool TryParse(string? name, out DeviceType type, out int index)
    {
        string text = (name ?? string.Empty).Trim().ToLowerInvariant();
        (bool parsed, type, index) = text switch
        {
            "cpu" => (true, DeviceType.CPU, -1),
            "cuda" => (true, DeviceType.CUDA, -1),
            _ when text.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(text.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out int n) => (true, DeviceType.CUDA, n),
            _ => (false, DeviceType.CPU, -1),
        };
        return parsed;
    }

    /// <summary>Resolves a device name to a TorchSharp device, with Core's clear error (naming <see cref="TrainerOptions.Device"/>) when CUDA is asked for and absent.</summary>
    /// <exception cref="ArgumentException">The name is not "cpu", "cuda" or "cuda:N".</exception>
    /// <exception cref="InvalidOperationException">CUDA was asked for but is not available, or the index is out of range.</exception>
    public static torch.Device Resolve(string name) => TorchBackend.ResolveDevice(name, "TrainerOptions.Device");
}
