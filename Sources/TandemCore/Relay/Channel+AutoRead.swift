import NIOCore

extension Channel {
    /// Turns reading on or off for back-pressure between two relayed channels.
    ///
    /// swift-nio-ssh's child channels only store the flag: turning autoRead back on does
    /// not restart reading, so a transfer would stall forever. Issue the read ourselves.
    public func setAutoRead(_ on: Bool) {
        setOption(ChannelOptions.autoRead, value: on).whenSuccess {
            if on { self.read() }
        }
    }
}
